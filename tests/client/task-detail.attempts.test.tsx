import { Route, Router } from "@solidjs/router";
import { fireEvent, render, screen, within } from "@solidjs/testing-library";
import { Provider } from "@urql/solid";
import type { JSX } from "solid-js";
import { afterEach, describe, expect, it } from "vitest";
import type { ExecutionRow, TaskDetail } from "../../client/src/graphql/tasks";
import { TaskDetailPage } from "../../client/src/pages/TaskDetailPage";
import { createTestClient } from "./graphql-test-client";

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

const task: TaskDetail = {
  id: "task-1",
  name: "Hourly report",
  url: "https://api.example.com/report",
  method: "POST",
  status: "SUCCEEDED",
  type: "CRON",
  queue: null,
  cron: "0 * * * *",
  paused: false,
  attempts: 1,
  runAt: at(120),
  nextRunAt: at(-60),
  createdAt: at(120),
  updatedAt: at(1),
  headers: {},
  body: null,
  bodyEncoding: null,
  retries: 3,
  timeoutMs: 30_000,
  priority: 0,
  runs: 2,
  timezone: "UTC",
  overlap: "SKIP_IF_RUNNING",
  catchUp: "SKIP",
  callbackUrl: null,
  callbackOn: null,
  onFailureUrl: null,
  completedAt: null,
  sourceTaskId: null,
  debounceKey: null,
  throttleKey: null,
};

const attempt = (id: string, fields: Partial<ExecutionRow>): ExecutionRow => ({
  id,
  taskId: task.id,
  attempt: 1,
  run: 1,
  status: "SUCCEEDED",
  scheduledFor: at(60),
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  responseStatus: null,
  responseHeaders: null,
  responseBody: null,
  responseBodyTruncated: false,
  error: null,
  waitingReason: null,
  createdAt: at(60),
  ...fields,
});

// Ids sort newest first: the MISSED run 2 above the SUCCEEDED run 1.
const succeeded = attempt("0001", {
  run: 1,
  status: "SUCCEEDED",
  startedAt: at(60),
  finishedAt: at(60),
  durationMs: 120,
  responseStatus: 200,
  responseHeaders: { "content-type": "text/plain" },
  responseBody: "ok",
});
const missed = attempt("0002", {
  run: 2,
  status: "MISSED",
  scheduledFor: at(1),
  finishedAt: at(1),
  error: "run 1 was still running (overlap policy SKIP_IF_RUNNING)",
});

function renderTask(executions: ExecutionRow[]) {
  window.history.pushState({}, "", `/tasks/${task.id}`);
  const graphql = createTestClient({
    TaskDetail: () => ({
      data: {
        task: {
          ...task,
          executions: {
            pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
            edges: executions.map((node) => ({ node })),
          },
        },
      },
    }),
  });
  render(() => (
    <Router root={(props: { children?: JSX.Element }) => <Provider value={graphql.client}>{props.children}</Provider>}>
      <Route path="/tasks/:id" component={TaskDetailPage} />
    </Router>
  ));
}

async function expandedAttempt(id: string): Promise<HTMLElement> {
  const item = await waitForElement(`li[data-execution-id="${id}"]`);
  const summary = item.querySelector<HTMLButtonElement>("button.timeline-summary") as HTMLButtonElement;
  if (summary.getAttribute("aria-expanded") !== "true") fireEvent.click(summary);
  return item;
}

async function waitForElement(selector: string): Promise<HTMLElement> {
  await screen.findAllByText("Hourly report");
  return document.querySelector<HTMLElement>(selector) as HTMLElement;
}

afterEach(() => window.history.pushState({}, "", "/"));

describe("a task's attempts", () => {
  it("offer to replay an attempt that sent its request, not one that was MISSED (finished, but nothing was sent)", async () => {
    renderTask([missed, succeeded]);

    const missedItem = await expandedAttempt(missed.id);
    expect(within(missedItem).getByText("Missed: no request was sent.")).toBeTruthy();
    expect(within(missedItem).queryByText(/Replay this request/)).toBeNull();

    const succeededItem = await expandedAttempt(succeeded.id);
    expect(within(succeededItem).getByText(/Replay this request/)).toBeTruthy();
    expect(within(succeededItem).getByText("ok")).toBeTruthy();
  });
});
