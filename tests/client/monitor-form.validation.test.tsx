import { fireEvent, screen, waitFor } from "@solidjs/testing-library";
import { describe, expect, it } from "vitest";
import { MonitorForm } from "../../client/src/pages/MonitorsPage";
import type { Responder } from "./graphql-test-client";
import { renderWithClient } from "./render-with-client";

function renderForm(responders: Record<string, Responder>) {
  const saved: Array<{ id: string }> = [];
  const graphql = renderWithClient(() => <MonitorForm onSaved={(monitor) => saved.push(monitor)} />, responders);
  return { graphql, saved };
}

const type = (label: string | RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });
const submit = () => fireEvent.click(screen.getByRole("button", { name: "Create monitor" }));
const created = { createMonitor: { id: "monitor-1", name: "backup" } };

describe("create monitor form", () => {
  it("sends an interval and a grace period in seconds, whatever units they were typed in", async () => {
    const { graphql, saved } = renderForm({ CreateMonitor: () => ({ data: created }) });
    type("Name", "backup");
    type("Expected every", "6");
    fireEvent.change(screen.getByLabelText("Expected every unit"), { target: { value: "3600" } });
    type("Grace period", "15");
    fireEvent.change(screen.getByLabelText("Grace period unit"), { target: { value: "60" } });
    submit();
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(graphql.operations.find((operation) => operation.name === "CreateMonitor")?.variables).toEqual({
      name: "backup",
      intervalSeconds: 21_600,
      graceSeconds: 900,
    });
  });

  it("sends a cron expression with its time zone instead of an interval", async () => {
    const { graphql, saved } = renderForm({ CreateMonitor: () => ({ data: created }), NextRuns: () => ({ data: { nextRuns: [] } }) });
    type("Name", "etl");
    fireEvent.click(screen.getByRole("radio", { name: "Cron schedule" }));
    type("Cron expression", "0 3 * * *");
    fireEvent.change(screen.getByLabelText("Time zone"), { target: { value: "Europe/Paris" } });
    submit();
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(graphql.operations.find((operation) => operation.name === "CreateMonitor")?.variables).toEqual({
      name: "etl",
      cron: "0 3 * * *",
      timezone: "Europe/Paris",
      graceSeconds: 3600,
    });
  });

  it("refuses an empty name and a fractional interval itself, and shows the server's refusal at the field it names", async () => {
    const { graphql, saved } = renderForm({
      CreateMonitor: () => ({
        errors: [
          {
            message: "graceSeconds must be a whole number of seconds between 0 and 31622400",
            extensions: { code: "VALIDATION_FAILED", field: "graceSeconds" },
          },
        ],
      }),
    });
    type("Expected every", "1.5");
    submit();
    expect(await screen.findByText("Name the monitor, after the job it watches.")).toBeTruthy();
    expect(screen.getByText("Enter how often the job runs, as a whole number.").id).toBe("monitor-interval-error");
    expect(graphql.operations.filter((operation) => operation.name === "CreateMonitor")).toEqual([]);

    type("Name", "backup");
    type("Expected every", "1");
    type("Grace period", "400");
    fireEvent.change(screen.getByLabelText("Grace period unit"), { target: { value: "86400" } });
    submit();
    expect((await screen.findByText(/graceSeconds must be a whole number/)).id).toBe("monitor-grace-error");
    expect(screen.getByLabelText("Grace period").getAttribute("aria-invalid")).toBe("true");
    expect(saved).toEqual([]);
  });
});
