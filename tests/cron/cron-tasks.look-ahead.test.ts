import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextCronOccurrences } from "../../server/services/cron-schedule.js";
import { CRON_LOOK_AHEAD_MS } from "../../server/services/cron-tasks.js";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

// A slot's run is created ahead of the slot (worker/cron-scheduler.ts): what a user can see and change meanwhile.
const runlater = useTestInstance({
  sink: (request) => (request.path === "/slow" ? { status: 200, delayMs: 2500 } : { status: 200 }),
});
let db: pg.Pool;

beforeAll(() => {
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
});
afterAll(async () => {
  await db?.end();
});

type Task = Record<string, unknown> & { id: string; nextRunAt: string | null; runs: number };
type Execution = { run: number; attempt: number; status: string; scheduledFor: string; error: string | null };

const pushCron = async (fields: Record<string, unknown> = {}) =>
  (await rest<Task>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/cron`, cron: "0 0 1 1 *", ...fields }))
    .body;
const getTask = async (id: string) => (await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body;
const executionsOf = async (id: string) =>
  (await rest<{ edges: Array<{ node: Execution }> }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}/executions`)).body.edges.map(
    (edge) => edge.node,
  );
const requestsFor = (id: string) => runlater.sink.requests.filter((request) => request.headers["runlater-task-id"] === id);
/** Brings a task's next slot to `at` by hand, as if its schedule said so. */
const setNextSlot = (id: string, at: Date) => db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, at]);
const jobsOf = async (id: string) =>
  (
    await db.query<{ startAfter: Date; state: string }>(
      `SELECT j.start_after AS "startAfter", j.state FROM pgboss.job j JOIN executions e ON e.id = j.id WHERE e.task_id = $1`,
      [id],
    )
  ).rows;

/** Waits until the scheduler has created the run of the task's next slot. */
const preparedRun = (id: string) =>
  eventually(async () => {
    const list = await executionsOf(id);
    return list.length > 0 ? list : undefined;
  }, 5000);

describe("a run created ahead of its slot", () => {
  it("exists before the slot with its job due at the slot, keeps nextRunAt on the slot, and is delivered at the slot", async () => {
    expect(CRON_LOOK_AHEAD_MS).toBeGreaterThan(3000);
    const task = await pushCron();
    // Far enough ahead that the run is prepared before the slot even on a loaded machine, within the look-ahead.
    const slot = new Date(Date.now() + 6000);
    await setNextSlot(task.id, slot);

    const [run] = await preparedRun(task.id);
    expect(Date.now()).toBeLessThan(slot.getTime());
    expect(run).toMatchObject({ run: 1, attempt: 1, status: "PENDING", scheduledFor: slot.toISOString() });
    expect(await jobsOf(task.id)).toEqual([{ startAfter: slot, state: "created" }]);
    expect(await getTask(task.id)).toMatchObject({ nextRunAt: slot.toISOString(), runs: 1, status: "SCHEDULED" });
    expect(requestsFor(task.id)).toHaveLength(0);

    const [request] = await eventually(async () => (requestsFor(task.id).length === 1 ? requestsFor(task.id) : undefined), 10_000, 10);
    const lateness = (request?.receivedAt as number) - slot.getTime();
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1000);
    // Once the slot has passed, nextRunAt is the slot after it.
    expect((await getTask(task.id)).nextRunAt).toBe(`${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);
  });

  it("is withdrawn with its job when the task is paused before the slot, and nothing fires", async () => {
    const task = await pushCron();
    const slot = new Date(Date.now() + 2500);
    await setNextSlot(task.id, slot);
    await preparedRun(task.id);

    const paused = await rest<Task>(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/pause`);
    expect(paused.body).toMatchObject({ paused: true, nextRunAt: null, runs: 0 });
    expect(await executionsOf(task.id)).toEqual([]);
    expect(await jobsOf(task.id)).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, slot.getTime() - Date.now() + 1000));
    expect(requestsFor(task.id)).toHaveLength(0);
    expect(await executionsOf(task.id)).toEqual([]);
  });

  it("gives its run number back when withdrawn, even when history retention deleted every earlier run", async () => {
    const task = await pushCron();
    // Five runs so far, all deleted by retention since.
    await db.query("UPDATE tasks SET runs = 5 WHERE id = $1", [task.id]);
    await setNextSlot(task.id, new Date(Date.now() + 2500));
    const [run] = await preparedRun(task.id);
    expect(run?.run).toBe(6);

    const paused = await rest<Task>(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/pause`);
    expect(paused.body).toMatchObject({ paused: true, runs: 5 });
  });

  it("keeps numbering after a manual trigger, paused and resumed before the slot, and the schedule goes on", async () => {
    const task = await pushCron();
    await setNextSlot(task.id, new Date(Date.now() + 2500));
    const [prepared] = await preparedRun(task.id);
    expect(prepared?.run).toBe(1);
    // Run now: run 2, after the prepared run 1.
    expect((await rest<Task>(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/trigger`)).body.runs).toBe(2);
    // Pausing withdraws run 1, whose number stays a gap: run 2 exists.
    expect((await rest<Task>(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/pause`)).body).toMatchObject({ runs: 2 });
    await rest(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/resume`);

    // The next slots are prepared as runs 3 and 4 (with runs 2 and 3 the scheduler's batch failed on the unique run
    // number, for every cron task, every second).
    const other = await pushCron();
    for (const id of [task.id, other.id]) await setNextSlot(id, new Date(Date.now() + 1500));
    const runs = await eventually(async () => {
      const list = (await executionsOf(task.id)).map((execution) => execution.run).sort();
      return list.includes(3) ? list : undefined;
    }, 8000);
    expect(runs).toEqual([2, 3]);
    expect((await preparedRun(other.id))[0]?.run).toBe(1);
    expect((await rest<Task>(runlater.instance, ALICE_KEY, "POST", `/tasks/${task.id}/trigger`)).body.runs).toBe(4);
  });

  it("still fires every other task when one task's run cannot be written", async () => {
    const broken = await pushCron();
    const healthy = await pushCron();
    // A run numbered as the next one already exists (as after the collision fixed in 728a4d2): its insert fails.
    await db.query(
      `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, finished_at)
       SELECT gen_random_uuid(), organization_id, id, runs + 1, 1, 'SUCCEEDED', now(), now() FROM tasks WHERE id = $1`,
      [broken.id],
    );
    const slot = new Date(Date.now() + 1500);
    for (const task of [broken, healthy]) await setNextSlot(task.id, slot);
    const [run] = await preparedRun(healthy.id);
    expect(run).toMatchObject({ run: 1, scheduledFor: slot.toISOString() });
    await eventually(async () => requestsFor(healthy.id).length === 1, 10_000);
    // The broken task is set aside, its slot unprepared, instead of failing every claim.
    expect((await executionsOf(broken.id)).map((execution) => execution.status)).toEqual(["SUCCEEDED"]);
    await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${broken.id}`);
  });

  it("is replaced when the schedule is updated before the slot", async () => {
    const task = await pushCron();
    const oldSlot = new Date(Date.now() + 2500);
    await setNextSlot(task.id, oldSlot);
    await preparedRun(task.id);

    const before = new Date();
    const updated = await rest<Task>(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${task.id}/schedule`, { cron: "0 12 * * *" });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ runs: 0, nextRunAt: nextCronOccurrences("0 12 * * *", "UTC", before, 1)[0]?.toISOString() });
    expect(await executionsOf(task.id)).toEqual([]);
    expect(await jobsOf(task.id)).toEqual([]);

    // The new schedule's slot gets its own run, numbered 1.
    const newSlot = new Date(Date.now() + 1500);
    await setNextSlot(task.id, newSlot);
    await eventually(async () => requestsFor(task.id).length === 1, 10_000, 10);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, oldSlot.getTime() - Date.now()) + 500));
    expect(requestsFor(task.id)).toHaveLength(1);
    const executions = await eventually(async () => {
      const list = await executionsOf(task.id);
      return list[0]?.status === "SUCCEEDED" ? list : undefined;
    });
    expect(executions).toEqual([expect.objectContaining({ run: 1, scheduledFor: newSlot.toISOString() })]);
  });

  it("is withdrawn when the task is cancelled before the slot", async () => {
    const task = await pushCron();
    const slot = new Date(Date.now() + 2500);
    await setNextSlot(task.id, slot);
    await preparedRun(task.id);

    const cancelled = await rest<Task>(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${task.id}`);
    expect(cancelled.body).toMatchObject({ status: "CANCELLED", nextRunAt: null });
    expect(await executionsOf(task.id)).toEqual([]);
    expect(await jobsOf(task.id)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, slot.getTime() - Date.now() + 1000));
    expect(requestsFor(task.id)).toHaveLength(0);
  });

  it("cannot be written twice for one slot", async () => {
    const task = await pushCron();
    const slot = new Date(Date.now() + 60_000);
    const insert = (run: number) =>
      db.query(
        `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, cron_slot)
         SELECT gen_random_uuid(), organization_id, id, $2, 1, 'PENDING', $3, $3 FROM tasks WHERE id = $1`,
        [task.id, run, slot],
      );
    await insert(1);
    await expect(insert(2)).rejects.toThrow(/executions_task_id_cron_slot_key/);
    await db.query("DELETE FROM executions WHERE task_id = $1", [task.id]);
  });
});

describe("SKIP_IF_RUNNING with a run created ahead", () => {
  it("is decided at the slot: a previous run that finished before the slot does not skip it", async () => {
    const task = await pushCron({ url: `${runlater.sink.url}/slow`, overlap: "SKIP_IF_RUNNING" });
    await setNextSlot(task.id, new Date(Date.now() + 200));
    await eventually(async () => requestsFor(task.id).length === 1, 10_000, 10);
    // Run 1 takes 2.5 s. The next slot's run is created while run 1 is in flight; the slot comes after it finished.
    const slot = new Date(Date.now() + 4000);
    await setNextSlot(task.id, slot);
    const prepared = await eventually(async () => {
      const list = await executionsOf(task.id);
      return list.length === 2 ? list : undefined;
    }, 5000);
    expect(prepared.map((execution) => [execution.run, execution.status])).toEqual([
      [1, "RUNNING"],
      [2, "PENDING"],
    ]);
    const executions = await eventually(async () => {
      const list = await executionsOf(task.id);
      return list.length === 2 && list.every((execution) => execution.status === "SUCCEEDED") ? list : undefined;
    }, 15_000);
    expect(executions.map((execution) => execution.run)).toEqual([1, 2]);
    expect(requestsFor(task.id)).toHaveLength(2);
  });
});
