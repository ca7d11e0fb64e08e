import { fireEvent, screen, waitFor } from "@solidjs/testing-library";
import { describe, expect, it } from "vitest";
import type { TaskDetail } from "../../client/src/graphql/tasks";
import { emptyTaskForm, TaskForm, type TaskFormValues, taskFormFrom } from "../../client/src/pages/CreateTaskPage";
import type { Responder } from "./graphql-test-client";
import { renderWithClient } from "./render-with-client";

function renderForm(
  responders: Record<string, Responder>,
  options: { initial?: TaskFormValues; editing?: { id: string; runAt: string } } = {},
) {
  const created: Array<{ id: string }> = [];
  const graphql = renderWithClient(
    () => (
      <TaskForm
        initial={options.initial ?? { ...emptyTaskForm(), timezone: "UTC" }}
        editing={options.editing}
        onCreated={(task) => created.push(task)}
      />
    ),
    responders,
  );
  return { graphql, created };
}

const type = (label: string | RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });

describe("create task form", () => {
  it("shows the server's refusal under the field it names, and creates nothing", async () => {
    const { created } = renderForm({
      PushTask: () => ({
        errors: [
          {
            message: "url: requests to private addresses are not allowed (169.254.169.254)",
            extensions: { code: "BAD_REQUEST", field: "url" },
          },
        ],
      }),
    });
    type("URL", "http://169.254.169.254/latest/meta-data");
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    const error = await screen.findByText(/private addresses are not allowed/);
    expect(error.id).toBe("url-error");
    expect(screen.getByLabelText("URL").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByLabelText("URL").getAttribute("aria-describedby")).toBe("url-error");
    expect(created).toEqual([]);
  });

  it("refuses a missing URL and a body that is not JSON before asking the server", async () => {
    const { graphql } = renderForm({});
    type("Body optional", '{"invoice": 42,}');
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    expect(await screen.findByText("Enter the URL to call.")).toBeTruthy();
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
    expect(graphql.operations.filter((operation) => operation.name === "PushTask")).toEqual([]);
  });

  it("sends the request as typed: method, headers, JSON body and delay", async () => {
    const { graphql, created } = renderForm({ PushTask: () => ({ data: { pushTask: { id: "task-1" } } }) });
    type("URL", "https://api.example.com/invoices");
    fireEvent.change(screen.getByLabelText("Method"), { target: { value: "PUT" } });
    fireEvent.click(screen.getByRole("button", { name: "Add header" }));
    type("Header 1 name", "X-Tenant");
    type("Header 1 value", "acme");
    type("Body optional", '{"invoice": 42}');
    fireEvent.click(screen.getByRole("radio", { name: "After a delay" }));
    type("Delay", "90s");
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    await waitFor(() => expect(created).toEqual([{ id: "task-1" }]));
    expect(graphql.operations.find((operation) => operation.name === "PushTask")?.variables).toEqual({
      url: "https://api.example.com/invoices",
      method: "PUT",
      headers: { "X-Tenant": "acme" },
      body: { invoice: 42 },
      delay: "90s",
      retries: 3,
      timeoutMs: 30_000,
    });
  });

  it("sends a Base64 body as bodyBase64, refusing one that is not base64, and fills a duplicate of a binary task as Base64", async () => {
    const { graphql, created } = renderForm({ PushTask: () => ({ data: { pushTask: { id: "task-2" } } }) });
    type("URL", "https://api.example.com/upload");
    fireEvent.click(screen.getByRole("radio", { name: "Base64" }));
    type("Body optional", "not base64!");
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    expect(await screen.findByText("Not valid base64.")).toBeTruthy();
    type("Body optional", "AAEC/w==");
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    await waitFor(() => expect(created).toEqual([{ id: "task-2" }]));
    expect(graphql.operations.find((operation) => operation.name === "PushTask")?.variables).toMatchObject({ bodyBase64: "AAEC/w==" });
    expect(graphql.operations.find((operation) => operation.name === "PushTask")?.variables).not.toHaveProperty("body");

    // The fields a duplicate's form is filled from.
    const binaryTask = {
      ...{ name: null, url: "https://api.example.com/upload", method: "POST", queue: null, headers: {}, cron: null, timezone: null },
      ...{ retries: 3, timeoutMs: 30_000, priority: 0, callbackUrl: null, body: "AAEC/w==", bodyEncoding: "BASE64" },
    } as unknown as TaskDetail;
    const duplicate = taskFormFrom(binaryTask);
    expect(duplicate).toMatchObject({ bodyKind: "base64", body: "AAEC/w==" });
  });

  it("describes a cron expression in words and lists its next five runs in the chosen time zone", async () => {
    // What the server's nextRuns answers for "30 2 * * 1-5" in Europe/Berlin (CET, UTC+1).
    const berlinSlots = [
      "2026-11-30T01:30:00.000Z",
      "2026-12-01T01:30:00.000Z",
      "2026-12-02T01:30:00.000Z",
      "2026-12-03T01:30:00.000Z",
      "2026-12-04T01:30:00.000Z",
    ];
    const { graphql } = renderForm({ NextRuns: () => ({ data: { nextRuns: berlinSlots } }) });
    fireEvent.click(screen.getByRole("radio", { name: "On a schedule" }));
    type("Cron expression", "30 2 * * 1-5");
    fireEvent.change(screen.getByLabelText("Time zone"), { target: { value: "Europe/Berlin" } });

    expect(screen.getByTestId("cron-description").textContent).toBe("At 02:30, Monday through Friday");
    await waitFor(() => expect(screen.getByTestId("next-runs").querySelectorAll("li")).toHaveLength(5));
    const runs = [...screen.getByTestId("next-runs").querySelectorAll("li")].map((item) => item.textContent);
    // Shown in Berlin time: 01:30 UTC is 02:30 there.
    expect(runs[0]).toMatch(/Mon.*30 Nov 2026.*02:30/);
    expect(runs.every((run) => run?.includes("02:30"))).toBe(true);
    const preview = graphql.operations.filter((operation) => operation.name === "NextRuns").at(-1);
    expect(preview?.variables).toEqual({ cron: "30 2 * * 1-5", timezone: "Europe/Berlin", count: 5 });
  });

  it("says why an unreadable cron expression cannot run, at the cron field", async () => {
    const { graphql } = renderForm({});
    fireEvent.click(screen.getByRole("radio", { name: "On a schedule" }));
    type("Cron expression", "every morning");
    expect(await screen.findByText(/Use 5 fields/)).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(graphql.operations.filter((operation) => operation.name === "NextRuns")).toEqual([]);
  });

  it("edits a task before it starts: sends the request as edited and keeps its due time unless changed", async () => {
    const initial: TaskFormValues = {
      ...emptyTaskForm(),
      url: "https://api.example.com/old",
      name: "Send invoice",
      queue: "billing",
      headers: [{ name: "X-Tenant", value: "acme" }],
      body: '{"invoice": 1}',
      mode: "keep",
    };
    const { graphql, created } = renderForm(
      { UpdateTask: (variables) => ({ data: { updateTask: { id: variables.id } } }) },
      { initial, editing: { id: "task-9", runAt: new Date(Date.now() + 3_600_000).toISOString() } },
    );
    expect(screen.queryByRole("radio", { name: "On a schedule" })).toBeNull();
    expect((screen.getByLabelText("Queue optional") as HTMLInputElement).disabled).toBe(true);
    type("URL", "https://api.example.com/new");
    fireEvent.click(screen.getByRole("button", { name: "Create task" }));
    await waitFor(() => expect(created).toEqual([{ id: "task-9" }]));
    expect(graphql.operations.find((operation) => operation.name === "UpdateTask")?.variables).toEqual({
      id: "task-9",
      url: "https://api.example.com/new",
      method: "POST",
      name: "Send invoice",
      headers: { "X-Tenant": "acme" },
      body: { invoice: 1 },
      retries: 3,
      timeoutMs: 30_000,
    });
    expect(graphql.operations.some((operation) => operation.name === "PushTask")).toBe(false);
  });
});
