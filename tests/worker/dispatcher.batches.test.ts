/**
 * A backlog is claimed and settled in batches (one transaction for many
 * attempts), and each attempt in a batch still gets its own outcome:
 * successes, failures with retries, cancellations and callbacks side by side.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { ALICE_KEY, eventually, rest, startTestInstance, useTestInstance } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

// The API alone: the backlog builds up before a worker starts.
const runlater = useTestInstance({ role: "server" });
let failing: Sink;
let worker: RunningInstance | null = null;
let db: pg.Pool;

beforeAll(async () => {
  // Another host (port), so its failures open no circuit breaker for the succeeding tasks.
  failing = await startSink(() => ({ status: 503, body: "down" }));
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
  // Room for whole batches: the organisation's concurrency limit bounds each fetch.
  await db.query("UPDATE organizations SET concurrency_limit = 100");
});
afterAll(async () => {
  await worker?.stop();
  await failing?.close();
  await db?.end();
});

type Task = { id: string; status: string };
type Execution = { attempt: number; status: string; responseStatus: number | null };

const push = async (fields: Record<string, unknown>) => (await rest<Task>(runlater.instance, ALICE_KEY, "POST", "/tasks", fields)).body;
const getTask = async (id: string) => (await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body;
const executionsOf = async (id: string) =>
  (await rest<{ edges: Array<{ node: Execution }> }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}/executions`)).body.edges.map(
    (edge) => edge.node,
  );
const requestsTo = (sink: Sink, id: string) => sink.requests.filter((request) => request.headers["runlater-task-id"] === id);

describe("a backlog dispatched in batches", () => {
  it("settles every attempt of a batch on its own terms", async () => {
    const succeeding = await Promise.all(Array.from({ length: 60 }, () => push({ url: `${runlater.sink.url}/ok`, retries: 0 })));
    const failingTasks = await Promise.all(Array.from({ length: 2 }, () => push({ url: `${failing.url}/fail`, retries: 1 })));
    const cancelled = await Promise.all(Array.from({ length: 5 }, () => push({ url: `${runlater.sink.url}/cancelled` })));
    for (const task of cancelled) await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${task.id}`);
    const reported = await push({ url: `${runlater.sink.url}/ok`, callbackUrl: `${runlater.sink.url}/callback` });

    worker = await startTestInstance(runlater.database.url, { role: "worker" });

    for (const task of [...succeeding, reported]) {
      await eventually(async () => (await getTask(task.id)).status === "SUCCEEDED", 20_000);
      expect(requestsTo(runlater.sink, task.id)).toHaveLength(1);
      expect(await executionsOf(task.id)).toEqual([expect.objectContaining({ attempt: 1, status: "SUCCEEDED", responseStatus: 200 })]);
    }
    for (const task of failingTasks) {
      await eventually(async () => (await getTask(task.id)).status === "FAILED", 20_000);
      expect(requestsTo(failing, task.id)).toHaveLength(2);
      expect((await executionsOf(task.id)).map((execution) => [execution.attempt, execution.status, execution.responseStatus])).toEqual([
        [1, "FAILED", 503],
        [2, "FAILED", 503],
      ]);
    }
    for (const task of cancelled) {
      expect(requestsTo(runlater.sink, task.id)).toHaveLength(0);
      expect((await getTask(task.id)).status).toBe("CANCELLED");
    }
    // The callback reports the task's final status, written in the same batch as the outcome.
    const callback = await eventually(async () =>
      runlater.sink.requests.find((request) => request.path === "/callback" && request.body.includes(reported.id)),
    );
    expect(JSON.parse(callback.body)).toMatchObject({ task: { id: reported.id, status: "SUCCEEDED" }, status: "SUCCEEDED" });

    // Batches are visible in the timestamps: one claim (started_at) and one settlement (finished_at) per transaction.
    const { rows } = await db.query<{ executions: number; claims: number; settlements: number }>(
      `SELECT count(*)::int AS executions, count(DISTINCT started_at)::int AS claims, count(DISTINCT finished_at)::int AS settlements
       FROM executions WHERE task_id = ANY($1::uuid[])`,
      [succeeding.map((task) => task.id)],
    );
    const batches = rows[0] as { executions: number; claims: number; settlements: number };
    expect(batches.executions).toBe(60);
    expect(batches.claims).toBeLessThan(60);
    expect(batches.settlements).toBeLessThan(60);
  });
});
