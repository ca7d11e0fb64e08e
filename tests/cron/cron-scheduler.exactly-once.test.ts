import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunlaterProcess, spawnRunlater } from "../helpers/processes.js";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

// An API server in this process and two worker processes, each running a cron scheduler and a dispatcher.
const runlater = useTestInstance({ role: "server" });
const workers: RunlaterProcess[] = [];
let db: pg.Pool;

beforeAll(async () => {
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
  for (let index = 0; index < 2; index++) workers.push(spawnRunlater("worker", runlater.database.url));
  await Promise.all(workers.map((worker) => worker.waitForOutput(/worker is dispatching/)));
}, 60_000);

afterAll(async () => {
  for (const worker of workers) worker.child.kill("SIGTERM");
  await Promise.all(workers.map((worker) => worker.exited));
  await db?.end();
});

const TASKS = 20;
const ROUNDS = 3;

describe("two schedulers", () => {
  it("fire every slot exactly once, within a second of its time", async () => {
    const ids: string[] = [];
    for (let index = 0; index < TASKS; index++) {
      const pushed = await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", {
        url: `${runlater.sink.url}/slot`,
        cron: "0 0 1 1 *",
      });
      ids.push(pushed.body.id);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      // Slots spread over half a second, a second from now: both schedulers wake for them.
      const start = Date.now() + 1000;
      await db.query(`UPDATE tasks t SET next_run_at = s.at FROM unnest($1::uuid[], $2::timestamptz[]) AS s(id, at) WHERE t.id = s.id`, [
        ids,
        ids.map((_, index) => new Date(start + index * 25)),
      ]);
      await runlater.sink.waitForRequests(TASKS * round, 15_000);
    }
    // Anything fired twice would arrive late: give it the time to.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    expect(runlater.sink.requests).toHaveLength(TASKS * ROUNDS);
    const { rows: perSlot } = await db.query<{ taskId: string; scheduledFor: Date; count: number }>(
      `SELECT task_id AS "taskId", scheduled_for AS "scheduledFor", count(*)::int AS count FROM executions GROUP BY 1, 2`,
    );
    expect(perSlot).toHaveLength(TASKS * ROUNDS);
    expect(perSlot.every((slot) => slot.count === 1)).toBe(true);

    // Firing is the scheduler's job: the run's execution and its pg-boss job exist, due for dispatch, within a second
    // of its slot (they are written ahead, so usually at the slot exactly). Delivery then waits for the organisation's
    // concurrency limit, like any attempt; one task's delivery is timed in cron-tasks.lifecycle.
    const { rows: executions } = await db.query<{ id: string; run: number; firedAfterMs: number }>(
      `SELECT id, run, extract(epoch FROM GREATEST(created_at, admitted_at, scheduled_for) - cron_slot) * 1000 AS "firedAfterMs"
       FROM executions WHERE admitted_at IS NOT NULL AND cron_slot = scheduled_for`,
    );
    const delivered = runlater.sink.requests.map((request) => request.headers["runlater-execution-id"] as string);
    expect(new Set(delivered).size).toBe(TASKS * ROUNDS);
    expect(new Set(delivered)).toEqual(new Set(executions.map((execution) => execution.id)));
    const lateness = executions.map((execution) => Number(execution.firedAfterMs));
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...lateness), `ms from slot to firing: ${lateness.sort((a, b) => a - b).join(", ")}`).toBeLessThan(1000);
    expect(executions.map((execution) => execution.run).sort()).toEqual(
      Array.from({ length: ROUNDS }, (_, round) => Array<number>(TASKS).fill(round + 1))
        .flat()
        .sort(),
    );
    const { rows: tasks } = await db.query<{ runs: number }>("SELECT runs FROM tasks");
    expect(tasks.every((task) => task.runs === ROUNDS)).toBe(true);
  });
});
