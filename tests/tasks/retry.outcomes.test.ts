/**
 * The retry policy end to end: each kind of answer an endpoint can give, and
 * what Runlater records and does next.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { ALICE_KEY, eventually, rest, startTestInstance } from "../helpers/runlater.js";
import { type SinkAnswer, startSink } from "../helpers/sink.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let instance: RunningInstance;
const sinks: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await startTestInstance(database.url);
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
  await instance?.stop();
  await database?.drop();
});

async function sinkAnswering(answers: SinkAnswer[]) {
  const sink = await startSink((_request, index) => answers[Math.min(index, answers.length - 1)]!);
  sinks.push(sink);
  return sink;
}

type Execution = {
  attempt: number;
  status: string;
  responseStatus: number | null;
  error: string | null;
  scheduledFor: string;
  startedAt: string;
};

async function pushAndSettle(fields: Record<string, unknown>, timeoutMs = 15_000) {
  const pushed = await rest(instance, ALICE_KEY, "POST", "/tasks", fields);
  expect(pushed.status).toBe(201);
  const id = pushed.body.id as string;
  const task = await eventually(async () => {
    const { body } = await rest(instance, ALICE_KEY, "GET", `/tasks/${id}`);
    return ["SUCCEEDED", "FAILED"].includes(body.status as string) ? body : undefined;
  }, timeoutMs);
  const { body } = await rest<{ edges: Array<{ node: Execution }> }>(instance, ALICE_KEY, "GET", `/tasks/${id}/executions`);
  return { task, executions: body.edges.map((edge) => edge.node) };
}

describe("retries", () => {
  it("retries a 500 and then succeeds, recording both attempts", async () => {
    const sink = await sinkAnswering([
      { status: 500, body: "boom" },
      { status: 200, body: "fine" },
    ]);
    const { task, executions } = await pushAndSettle({ url: sink.url, retries: 3 });
    expect(task.status).toBe("SUCCEEDED");
    expect(task.attempts).toBe(2);
    expect(executions.map((execution) => [execution.attempt, execution.status, execution.responseStatus])).toEqual([
      [1, "FAILED", 500],
      [2, "SUCCEEDED", 200],
    ]);
    expect(executions[0]!.error).toContain("500");
    // The backoff after the first attempt is 0.5–1 s.
    const gap = new Date(executions[1]!.scheduledFor).getTime() - new Date(executions[0]!.startedAt).getTime();
    expect(gap).toBeGreaterThanOrEqual(500);
    expect(sink.requests.map((request) => request.headers["runlater-attempt"])).toEqual(["1", "2"]);
  });

  it("marks the task FAILED when retries are exhausted", async () => {
    const sink = await sinkAnswering([{ status: 503 }]);
    const { task, executions } = await pushAndSettle({ url: sink.url, retries: 1 });
    expect(task.status).toBe("FAILED");
    expect(executions.map((execution) => execution.status)).toEqual(["FAILED", "FAILED"]);
    expect(executions[1]!.error).toMatch(/retries exhausted/);
    expect(sink.requests).toHaveLength(2);
  });

  it("treats a 4xx other than 408/425/429 as final", async () => {
    const sink = await sinkAnswering([{ status: 404, body: "no such hook" }]);
    const { task, executions } = await pushAndSettle({ url: sink.url, retries: 5 });
    expect(task.status).toBe("FAILED");
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ status: "FAILED", responseStatus: 404 });
    expect(sink.requests).toHaveLength(1);
  });

  it("records a timeout as TIMED_OUT and retries it", async () => {
    const sink = await sinkAnswering([{ hang: true }, { status: 200 }]);
    const { task, executions } = await pushAndSettle({ url: sink.url, timeoutMs: 1000, retries: 1 });
    expect(task.status).toBe("SUCCEEDED");
    expect(executions.map((execution) => execution.status)).toEqual(["TIMED_OUT", "SUCCEEDED"]);
    expect(executions[0]!.error).toMatch(/timed out after 1000 ms/);
  });

  it("honours Retry-After on a 429", async () => {
    const sink = await sinkAnswering([{ status: 429, headers: { "retry-after": "2" } }, { status: 200 }]);
    const { task } = await pushAndSettle({ url: sink.url, retries: 1 });
    expect(task.status).toBe("SUCCEEDED");
    const [first, second] = sink.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(2000);
  });

  it("retries a refused connection as a network error", async () => {
    const sink = await sinkAnswering([{ status: 200 }]);
    await sink.close();
    const { task, executions } = await pushAndSettle({ url: `${sink.url}/gone`, retries: 1 });
    expect(task.status).toBe("FAILED");
    expect(executions).toHaveLength(2);
    expect(executions[0]!.error).toMatch(/ECONNREFUSED|refused/i);
  });
});
