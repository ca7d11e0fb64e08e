/**
 * History retention: attempts that finished before the retention's cutoff are deleted, and with them the tasks that
 * are over; what is still to run, recent history and recurring tasks stay. Rows are written with the ages a
 * long-running installation would have, then swept.
 */
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import {
  HISTORY_PURGE_BATCH,
  PURGE_ATTEMPTS_SQL,
  PURGE_FINISHED_TASKS_SQL,
  purgeExpiredHistory,
} from "../../server/services/history-retention.js";
import { RetentionSweeper } from "../../worker/retention-sweeper.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { indexesRead, planNodes, sequentialScans } from "../helpers/plans.js";
import { eventually } from "../helpers/runlater.js";

const DAY = 24 * 3_600_000;
let database: TestDatabase;
let pool: pg.Pool;
let organizations: [string, string];

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

beforeEach(async () => {
  await pool.query("DELETE FROM organizations");
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO organizations (id, name, slug, signing_secret)
     SELECT gen_random_uuid(), 'Org ' || n, 'org-' || n, 'whsec_' || n FROM generate_series(1, 2) AS n RETURNING id`,
  );
  organizations = rows.map((row) => row.id) as [string, string];
});

interface TaskSpec {
  organizationId?: string;
  type?: "ONE_OFF" | "CRON";
  status: string;
  /** Attempts: status and age in days (finished that long ago; null: not finished). */
  attempts: Array<{ status: string; finishedDaysAgo: number | null }>;
}

/** Writes a task and its attempts as they would be after running; returns the task's id. */
async function task(spec: TaskSpec): Promise<string> {
  const organizationId = spec.organizationId ?? organizations[0];
  const finished = spec.attempts.map((attempt) => attempt.finishedDaysAgo).filter((days): days is number => days !== null);
  const completedAt = ["SUCCEEDED", "FAILED", "CANCELLED"].includes(spec.status) && finished.length ? daysAgo(Math.min(...finished)) : null;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO tasks (id, organization_id, type, status, url, run_at, cron, timezone, completed_at)
     VALUES (gen_random_uuid(), $1, $2, $3, 'https://example.com/hook', now(), $4, $5, $6) RETURNING id`,
    [
      organizationId,
      spec.type ?? "ONE_OFF",
      spec.status,
      spec.type === "CRON" ? "0 * * * *" : null,
      spec.type === "CRON" ? "UTC" : null,
      completedAt,
    ],
  );
  const taskId = rows[0]?.id as string;
  for (const [index, attempt] of spec.attempts.entries()) {
    const at = attempt.finishedDaysAgo === null ? new Date() : daysAgo(attempt.finishedDaysAgo);
    await pool.query(
      `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, finished_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7)`,
      [
        organizationId,
        taskId,
        spec.type === "CRON" ? index + 1 : 1,
        spec.type === "CRON" ? 1 : index + 1,
        attempt.status,
        at,
        attempt.finishedDaysAgo === null ? null : at,
      ],
    );
  }
  return taskId;
}

function daysAgo(days: number): Date {
  return new Date(Date.now() - days * DAY);
}

async function remaining(taskId: string): Promise<{ task: boolean; attempts: string[] }> {
  const tasks = await pool.query("SELECT 1 FROM tasks WHERE id = $1", [taskId]);
  const attempts = await pool.query<{ status: string }>("SELECT status FROM executions WHERE task_id = $1 ORDER BY run, attempt", [taskId]);
  return { task: tasks.rowCount === 1, attempts: attempts.rows.map((row) => row.status) };
}

describe("purgeExpiredHistory", () => {
  it("deletes attempts finished before the cutoff and the tasks that are over, in every organisation, and keeps the rest", async () => {
    const oldSuccess = await task({ status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 40 }] });
    const oldFailure = await task({
      organizationId: organizations[1],
      status: "FAILED",
      attempts: [
        { status: "FAILED", finishedDaysAgo: 42 },
        { status: "TIMED_OUT", finishedDaysAgo: 41 },
      ],
    });
    const recentSuccess = await task({ status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 10 }] });
    // Retries spanning the cutoff: the old attempt goes, the task and its recent attempt stay.
    const spanning = await task({
      status: "FAILED",
      attempts: [
        { status: "FAILED", finishedDaysAgo: 31 },
        { status: "FAILED", finishedDaysAgo: 29 },
      ],
    });
    // Still retrying after an old failure: the task is not over.
    const retrying = await task({
      status: "SCHEDULED",
      attempts: [
        { status: "FAILED", finishedDaysAgo: 35 },
        { status: "PENDING", finishedDaysAgo: null },
      ],
    });
    const cron = await task({
      type: "CRON",
      status: "SUCCEEDED",
      attempts: [
        { status: "SUCCEEDED", finishedDaysAgo: 60 },
        { status: "MISSED", finishedDaysAgo: 50 },
        { status: "SUCCEEDED", finishedDaysAgo: 1 },
      ],
    });
    // A yearly schedule whose only run is older than the cutoff: the run goes, the schedule stays.
    const yearly = await task({ type: "CRON", status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 60 }] });
    const cancelledCron = await task({ type: "CRON", status: "CANCELLED", attempts: [{ status: "CANCELLED", finishedDaysAgo: 45 }] });

    // Paused past the retention (its runs went), then cancelled: a schedule with no attempt at all.
    const { rows: cancelledLongAgo } = await pool.query<{ id: string }>(
      `INSERT INTO tasks (id, organization_id, type, status, url, run_at, cron, timezone, completed_at)
       VALUES (gen_random_uuid(), $1, 'CRON', 'CANCELLED', 'https://example.com/hook', now(), '0 * * * *', 'UTC', $2) RETURNING id`,
      [organizations[0], daysAgo(31)],
    );
    const bareCancelledCron = cancelledLongAgo[0]?.id as string;

    const purged = await purgeExpiredHistory(pool, 30);

    expect(await remaining(oldSuccess)).toEqual({ task: false, attempts: [] });
    expect(await remaining(oldFailure)).toEqual({ task: false, attempts: [] });
    expect(await remaining(recentSuccess)).toEqual({ task: true, attempts: ["SUCCEEDED"] });
    expect(await remaining(spanning)).toEqual({ task: true, attempts: ["FAILED"] });
    expect(await remaining(retrying)).toEqual({ task: true, attempts: ["PENDING"] });
    expect(await remaining(cron)).toEqual({ task: true, attempts: ["SUCCEEDED"] });
    expect(await remaining(yearly)).toEqual({ task: true, attempts: [] });
    expect(await remaining(cancelledCron)).toEqual({ task: false, attempts: [] });
    expect(await remaining(bareCancelledCron)).toEqual({ task: false, attempts: [] });
    // 1 + 2 + 1 (spanning) + 1 (retrying) + 2 (cron) + 1 (yearly) + 1 (cancelled cron) attempts; 4 tasks.
    expect(purged).toEqual({ executions: 9, tasks: 4 });
  });

  it("deletes past one statement's batch, and nothing with retention 0", async () => {
    const count = HISTORY_PURGE_BATCH * 2 + 500;
    await pool.query(
      `WITH t AS (
         INSERT INTO tasks (id, organization_id, status, url, run_at, completed_at)
         SELECT gen_random_uuid(), $1, 'SUCCEEDED', 'https://example.com/' || n, now() - interval '90 days', now() - interval '90 days'
         FROM generate_series(1, $2::int) AS n RETURNING id, organization_id
       )
       INSERT INTO executions (id, organization_id, task_id, attempt, status, scheduled_for, finished_at)
       SELECT gen_random_uuid(), organization_id, id, 1, 'SUCCEEDED', now() - interval '90 days', now() - interval '90 days' FROM t`,
      [organizations[0], count],
    );
    expect(await purgeExpiredHistory(pool, 0)).toEqual({ executions: 0, tasks: 0 });
    expect((await pool.query("SELECT 1 FROM tasks")).rowCount).toBe(count);

    expect(await purgeExpiredHistory(pool, 30)).toEqual({ executions: count, tasks: count });
    expect((await pool.query("SELECT 1 FROM tasks")).rowCount).toBe(0);
    expect((await pool.query("SELECT 1 FROM executions")).rowCount).toBe(0);
  });

  it("leaves no task behind when workers sweep at the same time (one sweeps an organisation, the others pass it by)", async () => {
    // Tasks of two attempts each, so that batch boundaries fall between a task's attempts.
    const count = HISTORY_PURGE_BATCH * 2;
    await pool.query(
      `WITH t AS (
         INSERT INTO tasks (id, organization_id, status, url, run_at, completed_at)
         SELECT gen_random_uuid(), $1, 'FAILED', 'https://example.com/' || n, now(), now() - interval '60 days'
         FROM generate_series(1, $2::int) AS n RETURNING id, organization_id
       )
       INSERT INTO executions (id, organization_id, task_id, attempt, status, scheduled_for, finished_at)
       SELECT gen_random_uuid(), organization_id, id, attempt, 'FAILED', now(), now() - interval '60 days' - random() * interval '1 day'
       FROM t, generate_series(1, 2) AS attempt`,
      [organizations[0], count],
    );
    const sweeps = await Promise.all([1, 2, 3].map(() => purgeExpiredHistory(pool, 30)));
    expect(sweeps.reduce((sum, sweep) => sum + sweep.executions, 0)).toBe(count * 2);
    expect((await pool.query("SELECT 1 FROM tasks")).rowCount).toBe(0);
  });

  it("stops between batches when told to (a worker shutting down)", async () => {
    await task({ status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 40 }] });
    expect(await purgeExpiredHistory(pool, 30, { signal: AbortSignal.abort() })).toEqual({ executions: 0, tasks: 0 });
    expect((await pool.query("SELECT 1 FROM tasks")).rowCount).toBe(1);
  });
});

describe("the sweep's statements", () => {
  it("find old attempts through the (organization_id, finished_at) index and tasks by primary key, reading no table whole", async () => {
    // A busy organisation: 20,000 recent attempts, none of them due for deletion.
    await pool.query(
      `WITH t AS (
         INSERT INTO tasks (id, organization_id, status, url, run_at, completed_at)
         SELECT gen_random_uuid(), $1, 'SUCCEEDED', 'https://example.com/' || n, now(), now() FROM generate_series(1, 20000) AS n
         RETURNING id, organization_id
       )
       INSERT INTO executions (id, organization_id, task_id, attempt, status, scheduled_for, finished_at)
       SELECT gen_random_uuid(), organization_id, id, 1, 'SUCCEEDED', now(), now() - random() * interval '10 days' FROM t`,
      [organizations[0]],
    );
    await pool.query("ANALYZE tasks");
    await pool.query("ANALYZE executions");
    const { rows } = await pool.query<{ id: string }>("SELECT id FROM tasks LIMIT 5");

    const attempts = await planNodes(pool, PURGE_ATTEMPTS_SQL, [organizations[0], daysAgo(30)]);
    expect(sequentialScans(attempts)).toEqual([]);
    expect(indexesRead(attempts)).toContain("executions_organization_id_finished_at_idx");
    const tasks = await planNodes(pool, PURGE_FINISHED_TASKS_SQL, [organizations[0], rows.map((row) => row.id)]);
    expect(sequentialScans(tasks)).toEqual([]);
  });
});

describe("the retention sweeper", () => {
  it("sweeps as soon as a worker starts it: history, expired sessions, day-old login and sign-up attempts", async () => {
    const old = await task({ status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 8 }] });
    const { rows: users } = await pool.query<{ id: string }>(
      "INSERT INTO users (id, email, name, password_hash) VALUES (gen_random_uuid(), 'swept@example.com', 'Swept', 'x') RETURNING id",
    );
    await pool.query(
      `INSERT INTO sessions (id, hashed_token, user_id, organization_id, expires_at)
       VALUES (gen_random_uuid(), 'expired', $1, $2, now() - interval '1 minute'), (gen_random_uuid(), 'valid', $1, $2, now() + interval '1 day')`,
      [users[0]?.id, organizations[0]],
    );
    await pool.query(
      `INSERT INTO login_attempts (email, ip, created_at)
       VALUES ('swept@example.com', '192.0.2.1', now() - interval '25 hours'), ('swept@example.com', '192.0.2.1', now())`,
    );
    await pool.query(
      `INSERT INTO signup_attempts (ip, created_at) VALUES ('192.0.2.1', now() - interval '25 hours'), ('192.0.2.1', now())`,
    );
    const recent = await task({ status: "SUCCEEDED", attempts: [{ status: "SUCCEEDED", finishedDaysAgo: 6 }] });
    const sweeper = new RetentionSweeper({ pool, logger: createLogger({ level: "silent" }), historyRetentionDays: 7 });
    sweeper.start();
    try {
      await eventually(async () => !(await remaining(old)).task);
      expect(await remaining(recent)).toEqual({ task: true, attempts: ["SUCCEEDED"] });
      await eventually(async () => (await pool.query("SELECT 1 FROM login_attempts")).rowCount === 1);
      await eventually(async () => (await pool.query("SELECT 1 FROM signup_attempts")).rowCount === 1);
      const sessions = await pool.query<{ token: string }>("SELECT hashed_token AS token FROM sessions");
      expect(sessions.rows).toEqual([{ token: "valid" }]);
    } finally {
      await sweeper.stop();
    }
  });
});
