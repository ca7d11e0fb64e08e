import { Route, Router } from "@solidjs/router";
import { render, screen, waitFor, within } from "@solidjs/testing-library";
import { Provider } from "@urql/solid";
import type { JSX } from "solid-js";
import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../client/src/graphql/tasks";
import { TasksPage } from "../../client/src/pages/TasksPage";
import { createTestClient } from "./graphql-test-client";

const created = new Date(Date.now() - 60_000).toISOString();
const row = (id: string, name: string, status: TaskRow["status"], updatedAt = created): TaskRow => ({
  id,
  name,
  url: `https://api.example.com/${id}`,
  method: "POST",
  status,
  type: "ONE_OFF",
  queue: "billing",
  cron: null,
  paused: false,
  attempts: status === "SCHEDULED" ? 0 : 1,
  runAt: created,
  nextRunAt: null,
  createdAt: created,
  updatedAt,
});

const page = (rows: TaskRow[]) => ({
  data: {
    tasks: {
      totalCount: rows.length,
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: rows[0]?.id ?? null, endCursor: rows.at(-1)?.id ?? null },
      edges: rows.map((node) => ({ cursor: node.id, node })),
    },
  },
});

function renderList(rows: TaskRow[]) {
  const graphql = createTestClient({ TaskList: () => page(rows), Queues: () => ({ data: { queues: [] } }) });
  render(() => (
    <Router root={(props: { children?: JSX.Element }) => <Provider value={graphql.client}>{props.children}</Provider>}>
      <Route path="/" component={TasksPage} />
    </Router>
  ));
  return graphql;
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-task-id="${id}"]`)!;

describe("live task list", () => {
  it("changes a row's status when an execution event arrives, without refetching", async () => {
    const graphql = renderList([row("t1", "Send invoice", "SCHEDULED"), row("t2", "Sync CRM", "SCHEDULED")]);
    await screen.findByText("Send invoice");
    expect(within(rowOf("t1")).getByText("scheduled")).toBeTruthy();
    const fetches = graphql.operations.filter((operation) => operation.name === "TaskList").length;
    const subscription = graphql.operations.find((operation) => operation.name === "ExecutionUpdates");
    expect(subscription?.kind).toBe("subscription");

    const later = new Date().toISOString();
    graphql.emit("ExecutionUpdates", {
      executionUpdates: {
        id: "e1",
        taskId: "t1",
        status: "RUNNING",
        task: { ...row("t1", "Send invoice", "RUNNING", later), attempts: 1 },
      },
    });
    await waitFor(() => expect(within(rowOf("t1")).getByText("running")).toBeTruthy());

    const done = new Date(Date.now() + 1000).toISOString();
    graphql.emit("ExecutionUpdates", {
      executionUpdates: {
        id: "e1",
        taskId: "t1",
        status: "SUCCEEDED",
        task: { ...row("t1", "Send invoice", "SUCCEEDED", done), attempts: 1 },
      },
    });
    await waitFor(() => expect(within(rowOf("t1")).getByText("succeeded")).toBeTruthy());
    // The other row is untouched, and the list was not fetched again for a row it shows.
    expect(within(rowOf("t2")).getByText("scheduled")).toBeTruthy();
    expect(graphql.operations.filter((operation) => operation.name === "TaskList")).toHaveLength(fetches);
  });

  it("ignores an event older than the row it already shows", async () => {
    const now = new Date().toISOString();
    const graphql = renderList([row("t1", "Send invoice", "SUCCEEDED", now)]);
    await screen.findByText("Send invoice");
    graphql.emit("ExecutionUpdates", {
      executionUpdates: { id: "e1", taskId: "t1", status: "RUNNING", task: row("t1", "Send invoice", "RUNNING", created) },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(within(rowOf("t1")).getByText("succeeded")).toBeTruthy();
  });

  it("explains what to do when there are no tasks yet", async () => {
    renderList([]);
    expect(await screen.findByText("No tasks yet")).toBeTruthy();
    expect(screen.getByRole("link", { name: /Create your first task/ }).getAttribute("href")).toBe("/tasks/new");
  });
});
