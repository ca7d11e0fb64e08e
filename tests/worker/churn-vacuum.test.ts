/**
 * A worker that has settled RUNLATER_VACUUM_AFTER_SETTLED attempts vacuums the
 * tables they churned once it has caught up with what is due, so fetches and
 * claims stop walking past the drained rows' dead versions.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { ALICE_KEY, eventually, rest, startTestInstance, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ role: "server" });
let db: pg.Pool;
const workers: RunningInstance[] = [];

beforeAll(async () => {
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await db?.end();
});

/** Manual VACUUMs of the tables a drain churns, as PostgreSQL counts them. */
async function vacuumCounts(): Promise<Record<string, number>> {
  const { rows } = await db.query<{ table: string; vacuums: number }>(
    `SELECT schemaname || '.' || relname AS table, vacuum_count::int AS vacuums FROM pg_stat_user_tables
     WHERE (schemaname = 'public' AND relname IN ('executions', 'tasks')) OR (schemaname = 'pgboss' AND relname = 'job_common')`,
  );
  return Object.fromEntries(rows.map((row) => [row.table, row.vacuums]));
}

async function pushAndDeliver(count: number): Promise<void> {
  const tasks = await Promise.all(
    Array.from(
      { length: count },
      async () => (await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/ok` })).body,
    ),
  );
  for (const task of tasks) {
    await eventually(
      async () => (await rest<{ status: string }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${task.id}`)).body.status === "SUCCEEDED",
    );
  }
}

describe("vacuum after a drain", () => {
  it("vacuums pg-boss's job table, executions and tasks once a worker has settled enough and caught up, and not before", async () => {
    const worker = await startTestInstance(runlater.database.url, { role: "worker", env: { RUNLATER_VACUUM_AFTER_SETTLED: "6" } });
    workers.push(worker);
    const before = await vacuumCounts();
    expect(Object.keys(before).sort()).toEqual(["pgboss.job_common", "public.executions", "public.tasks"]);

    await pushAndDeliver(3);
    // Settled 3 of 6: caught up, but too little churn to be worth a vacuum.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await vacuumCounts()).toEqual(before);

    await pushAndDeliver(3);
    const after = await eventually(async () => {
      const counts = await vacuumCounts();
      return Object.entries(before).every(([table, count]) => (counts[table] ?? 0) > count) ? counts : undefined;
    });
    for (const [table, count] of Object.entries(before)) expect(after[table]).toBe(count + 1);
  });

  it("never vacuums with RUNLATER_VACUUM_AFTER_SETTLED=0", async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    workers.push(await startTestInstance(runlater.database.url, { role: "worker", env: { RUNLATER_VACUUM_AFTER_SETTLED: "0" } }));
    const before = await vacuumCounts();
    await pushAndDeliver(8);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await vacuumCounts()).toEqual(before);
  });
});
