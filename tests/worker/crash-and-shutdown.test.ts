/**
 * Worker processes that die or stop: nothing accepted is lost.
 * A SIGKILLed worker's attempt is recorded as failed and retried by another
 * worker; a SIGTERMed worker finishes its in-flight attempt before exiting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { LOST_ATTEMPT_ERROR } from "../../server/services/attempts.js";
import { createTestDatabase } from "../helpers/database.js";
import { type RunlaterProcess, spawnRunlater } from "../helpers/processes.js";
import { ALICE_KEY, eventually, rest, startTestInstance } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: RunningInstance;
const workers: RunlaterProcess[] = [];
const sinks: Sink[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestInstance(database.url, { role: "server" });
});

afterEach(async () => {
  for (const worker of workers.splice(0)) {
    worker.child.kill("SIGKILL");
    await worker.exited;
  }
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
  await api?.stop();
  await database?.drop();
});

async function startWorker(): Promise<RunlaterProcess> {
  const worker = spawnRunlater("worker", database.url);
  workers.push(worker);
  await worker.waitForOutput(/worker is dispatching/);
  return worker;
}

describe("worker crash and shutdown", () => {
  it("retries an attempt whose worker was SIGKILLed mid-request, recording the lost attempt", async () => {
    const sink = await startSink((_request, index) => (index === 0 ? { hang: true } : { status: 200, body: "done" }));
    sinks.push(sink);
    const first = await startWorker();
    const pushed = await rest(api, ALICE_KEY, "POST", "/tasks", { url: sink.url, retries: 2 });
    await sink.waitForRequests(1);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    await startWorker();
    // The heartbeat (10 s in tests) must expire before pg-boss hands the job out again.
    const task = await eventually(
      async () => {
        const { body } = await rest(api, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
        return body.status === "SUCCEEDED" ? body : undefined;
      },
      40_000,
      200,
    );
    expect(task.attempts).toBe(2);
    const { body } = await rest<{ edges: Array<{ node: { attempt: number; status: string; error: string | null } }> }>(
      api,
      ALICE_KEY,
      "GET",
      `/tasks/${pushed.body.id}/executions`,
    );
    expect(body.edges.map((edge) => edge.node)).toEqual(
      [
        { attempt: 1, status: "FAILED", error: expect.stringContaining(LOST_ATTEMPT_ERROR) },
        { attempt: 2, status: "SUCCEEDED", error: null },
      ].map((expected) => expect.objectContaining(expected)),
    );
    expect(sink.requests).toHaveLength(2);
  }, 60_000);

  it("finishes the in-flight attempt on SIGTERM before exiting", async () => {
    const sink = await startSink(() => ({ status: 200, delayMs: 1500, body: "slow but fine" }));
    sinks.push(sink);
    const worker = await startWorker();
    const pushed = await rest(api, ALICE_KEY, "POST", "/tasks", { url: sink.url });
    await sink.waitForRequests(1);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    const { body } = await rest(api, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
    expect(body.status).toBe("SUCCEEDED");
    expect(worker.output()).toMatch(/shutting down gracefully/);
  }, 30_000);
});
