import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { ALICE_KEY, eventually, rest, startTestInstance, useTestInstance } from "../helpers/runlater.js";

// The API alone: no scheduler runs until the test starts a worker, as after downtime.
const runlater = useTestInstance({
  role: "server",
  sink: (request) => (request.path === "/slow" ? { status: 200, delayMs: 2500 } : { status: 200 }),
});
let db: pg.Pool;
let worker: RunningInstance | null = null;

beforeAll(() => {
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
});
afterAll(async () => {
  await worker?.stop();
  await db?.end();
});

type Task = Record<string, unknown> & { id: string };
type Execution = { run: number; attempt: number; status: string; scheduledFor: string; finishedAt: string | null; error: string | null };

const executionsOf = async (id: string) =>
  (await rest<{ edges: Array<{ node: Execution }> }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}/executions`)).body.edges.map(
    (edge) => edge.node,
  );
const requestsFor = (id: string) => runlater.sink.requests.filter((request) => request.headers["runlater-task-id"] === id);
const getTask = async (id: string) => (await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body;

describe("catch-up after downtime", () => {
  // Yearly slots, the first five years before this one missed: deterministic whatever the time of day.
  const year = new Date().getUTCFullYear();
  const missedSlots = [5, 4, 3, 2, 1, 0].map((back) => `${year - back}-01-01T00:00:00.000Z`);
  const tasks: Record<string, string> = {};

  beforeAll(async () => {
    for (const catchUp of ["SKIP", "LATEST", "ALL"]) {
      const pushed = await rest<Task>(runlater.instance, ALICE_KEY, "POST", "/tasks", {
        url: `${runlater.sink.url}/catch-up-${catchUp}`,
        cron: "0 0 1 1 *",
        catchUp,
      });
      tasks[catchUp] = pushed.body.id;
      await db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [pushed.body.id, missedSlots[0]]);
    }
    worker = await startTestInstance(runlater.database.url, { role: "worker" });
  });

  const settled = (id: string, count: number) =>
    eventually(async () => {
      const list = await executionsOf(id);
      return list.length === count && list.every((execution) => !["PENDING", "RUNNING"].includes(execution.status)) ? list : undefined;
    });

  it("SKIP records every missed slot as MISSED, runs none, and schedules the next slot", async () => {
    const executions = await settled(tasks.SKIP as string, 6);
    expect(executions.map((execution) => [execution.run, execution.status, execution.scheduledFor])).toEqual(
      missedSlots.map((slot, index) => [index + 1, "MISSED", slot]),
    );
    expect(executions[0]?.error).toMatch(/catch-up policy SKIP/);
    // Over as soon as recorded: counted by the activity chart and by history retention like any finished attempt.
    expect(executions.every((execution) => execution.finishedAt !== null)).toBe(true);
    expect(requestsFor(tasks.SKIP as string)).toHaveLength(0);
    expect(await getTask(tasks.SKIP as string)).toMatchObject({
      runs: 6,
      status: "SCHEDULED",
      nextRunAt: `${year + 1}-01-01T00:00:00.000Z`,
    });
  });

  it("LATEST runs the most recent missed slot once; the others are MISSED", async () => {
    const executions = await settled(tasks.LATEST as string, 6);
    expect(executions.map((execution) => execution.status)).toEqual(["MISSED", "MISSED", "MISSED", "MISSED", "MISSED", "SUCCEEDED"]);
    expect(executions[5]?.scheduledFor).toBe(missedSlots[5]);
    expect(requestsFor(tasks.LATEST as string)).toHaveLength(1);
  });

  it("ALL runs every missed slot, each as its own run", async () => {
    const executions = await settled(tasks.ALL as string, 6);
    expect(executions.map((execution) => [execution.run, execution.status])).toEqual(
      missedSlots.map((_, index) => [index + 1, "SUCCEEDED"]),
    );
    const runsSent = requestsFor(tasks.ALL as string).map((request) => request.headers["runlater-execution-id"]);
    expect(new Set(runsSent).size).toBe(6);
  });
});

describe("overlap", () => {
  it("SKIP_IF_RUNNING records a slot that comes while the previous run is in flight as MISSED, with the reason", async () => {
    const pushed = await rest<Task>(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/slow`,
      cron: "0 0 1 1 *",
      overlap: "SKIP_IF_RUNNING",
    });
    const id = pushed.body.id;
    await db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, new Date(Date.now() + 200)]);
    await eventually(async () => requestsFor(id).length === 1, 10_000, 10);
    expect((await getTask(id)).status).toBe("RUNNING");
    // The next slot comes while the slow run is still in flight.
    await db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, new Date(Date.now() + 100)]);
    const executions = await eventually(async () => {
      const list = await executionsOf(id);
      return list.length === 2 && list[0]?.status === "SUCCEEDED" ? list : undefined;
    });
    expect(executions.map((execution) => [execution.run, execution.status])).toEqual([
      [1, "SUCCEEDED"],
      [2, "MISSED"],
    ]);
    expect(executions[1]?.error).toMatch(/run 1 was still running \(overlap policy SKIP_IF_RUNNING\)/);
    expect(executions[1]?.finishedAt).not.toBeNull();
    expect(requestsFor(id)).toHaveLength(1);
    expect((await getTask(id)).status).toBe("SCHEDULED");
  });

  it("ALLOW runs a slot even while the previous run is in flight", async () => {
    const pushed = await rest<Task>(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/slow`,
      cron: "0 0 1 1 *",
    });
    const id = pushed.body.id;
    await db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, new Date(Date.now() + 200)]);
    await eventually(async () => requestsFor(id).length === 1, 10_000, 10);
    await db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, new Date(Date.now() + 100)]);
    await eventually(async () => requestsFor(id).length === 2, 10_000, 10);
    const executions = await eventually(async () => {
      const list = await executionsOf(id);
      return list.length === 2 && list.every((execution) => execution.status === "SUCCEEDED") ? list : undefined;
    });
    expect(executions.map((execution) => execution.run)).toEqual([1, 2]);
    expect((await getTask(id)).status).toBe("SCHEDULED");
  });
});
