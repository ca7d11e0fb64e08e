import { afterAll, describe, expect, it } from "vitest";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

interface ExecutionEvent {
  executionUpdates: {
    id: string;
    taskId: string;
    attempt: number;
    status: string;
    responseStatus: number | null;
    task: { id: string; queue: string | null; status: string };
  };
}

const EXECUTION_UPDATES = `subscription ($taskId: ID, $queue: String, $status: [ExecutionStatus!]) {
  executionUpdates(taskId: $taskId, queue: $queue, status: $status) {
    id taskId attempt status responseStatus task { id queue status }
  }
}`;

async function live(variables: Record<string, unknown> = {}): Promise<LiveSubscription<ExecutionEvent>> {
  const subscription = subscribe<ExecutionEvent>(runlater.instance.url as string, ALICE_KEY, EXECUTION_UPDATES, variables);
  open.push(subscription as LiveSubscription<unknown>);
  await subscription.ready();
  return subscription;
}

async function push(body: Record<string, unknown>): Promise<string> {
  const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/hook`, ...body });
  expect(answer.status).toBe(201);
  return answer.body.id as string;
}

function statusesOf(events: ExecutionEvent[], taskId: string): string[] {
  return events.filter((event) => event.executionUpdates.taskId === taskId).map((event) => event.executionUpdates.status);
}

describe("executionUpdates over graphql-ws", () => {
  it("streams an execution from PENDING through RUNNING to SUCCEEDED, with its task", async () => {
    const subscription = await live();
    const taskId = await push({ name: "watched" });

    const events = await subscription.waitFor((received) => statusesOf(received, taskId).includes("SUCCEEDED"));
    expect(statusesOf(events, taskId)).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    const succeeded = events.find((event) => event.executionUpdates.taskId === taskId && event.executionUpdates.status === "SUCCEEDED");
    expect(succeeded?.executionUpdates).toMatchObject({ attempt: 1, responseStatus: 200, task: { id: taskId, queue: null } });
    expect(subscription.errors).toEqual([]);
  });

  it("narrows by taskId, queue and status, all of which must hold", async () => {
    const byTask = await live({ taskId: "00000000-0000-7000-8000-000000000000" });
    const byQueue = await live({ queue: "emails" });
    const finishedOnly = await live({ status: ["SUCCEEDED", "FAILED"] });
    const queueAndStatus = await live({ queue: "emails", status: ["RUNNING"] });

    const inQueue = await push({ queue: "emails" });
    const outside = await push({});
    const watchedTask = await live({ taskId: outside });
    const later = await push({});

    await finishedOnly.waitFor((events) => [inQueue, outside, later].every((id) => statusesOf(events, id).includes("SUCCEEDED")));
    await byQueue.waitFor((events) => statusesOf(events, inQueue).includes("SUCCEEDED"));
    await queueAndStatus.waitFor((events) => statusesOf(events, inQueue).includes("RUNNING"));

    expect(byTask.events).toEqual([]);
    expect(new Set(byQueue.events.map((event) => event.executionUpdates.taskId))).toEqual(new Set([inQueue]));
    expect(byQueue.events.every((event) => event.executionUpdates.task.queue === "emails")).toBe(true);
    for (const id of [inQueue, outside, later]) expect(statusesOf(finishedOnly.events, id)).toEqual(["SUCCEEDED"]);
    expect(queueAndStatus.events.map((event) => [event.executionUpdates.taskId, event.executionUpdates.status])).toEqual([
      [inQueue, "RUNNING"],
    ]);
    // Subscribed after `outside` was pushed: sees only that task's later states, never `later`.
    expect(watchedTask.events.every((event) => event.executionUpdates.taskId === outside)).toBe(true);
  });

  it("refuses a malformed taskId filter with an error naming it", async () => {
    const subscription = subscribe<ExecutionEvent>(runlater.instance.url as string, ALICE_KEY, EXECUTION_UPDATES, { taskId: "nope" });
    open.push(subscription as LiveSubscription<unknown>);
    await subscription.connected;
    await subscription.waitFor(() => subscription.errors.length > 0);
    expect(JSON.stringify(subscription.errors)).toContain("task nope was not found");
  });

  it("is also served over server-sent events, with the same authentication", async () => {
    const abort = new AbortController();
    const response = await fetch(`${runlater.instance.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { executionUpdates(status: [SUCCEEDED]) { taskId status } }" }),
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const taskId = await push({ name: "over SSE" });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let received = "";
    while (!received.includes(taskId)) {
      const { value, done } = await reader.read();
      if (done) break;
      received += decoder.decode(value);
    }
    abort.abort();
    expect(received).toContain(`"taskId":"${taskId}","status":"SUCCEEDED"`);

    const anonymous = await fetch(`${runlater.instance.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { orgActivity { kind } }" }),
    });
    expect(anonymous.status).toBe(401);
  });
});
