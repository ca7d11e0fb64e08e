/**
 * Queues: named lanes of an organisation's tasks with their own concurrency,
 * rate limit and pause switch.
 *
 * Admission. An attempt of a task in a queue is written PENDING with
 * `admitted_at` null: it has no pg-boss job yet. Admission (run by workers
 * whenever they wake) gives jobs to the next attempts of each queue that has a
 * free slot, in order — higher priority first, then due time, then push order —
 * and never more than the queue's concurrency:
 *
 *   slots in use = tasks of the queue with an admitted attempt PENDING or RUNNING
 *
 * A retry is admitted at once when it is scheduled, so a retrying task keeps
 * its slot (and, with concurrency 1, its place: nothing behind it starts until
 * it has finished). Admission of one queue is serialised by locking its row
 * (SKIP LOCKED: a worker that finds another admitting moves on).
 * `rateLimit` bounds admissions (task starts) per `ratePeriodSeconds`; retries
 * of started tasks are not counted. A paused queue admits nothing; what it
 * holds stays, in order, until it is resumed. However much room its queues
 * have, an organisation has no more admitted jobs waiting to be fetched than
 * its concurrency limit or a take's batch (admittedWaitingCount): later passes
 * admit the rest as those are fetched.
 */
import type { PgBoss } from "pg-boss";
import type { Pool, PoolClient, Queryable, SessionStatement } from "../db/pool.js";
import { executeStatement, withTransaction } from "../db/pool.js";
import { DomainError, notFound } from "../errors.js";
import { ensureQueues, insertDispatchJobs, notifyDue } from "./dispatch-queue.js";

export interface QueueRow {
  id: string;
  organizationId: string;
  name: string;
  concurrency: number;
  rateLimit: number | null;
  ratePeriodSeconds: number;
  paused: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const QUEUE_COLUMNS = `id, organization_id AS "organizationId", name, concurrency, rate_limit AS "rateLimit",
  rate_period_seconds AS "ratePeriodSeconds", paused, created_at AS "createdAt", updated_at AS "updatedAt"`;

export const queueLimits = {
  concurrency: { min: 1, max: 1000 },
  rateLimit: { min: 1, max: 100_000 },
  ratePeriodSeconds: { min: 1, max: 86_400 },
} as const;

/** The queues with due attempts waiting for admission: what an admission pass has to do, in one round trip. */
export const WAITING_QUEUES_SQL = `SELECT organization_id AS "organizationId", name FROM queues q
     WHERE NOT q.paused AND EXISTS (
       SELECT 1 FROM executions e
       WHERE e.organization_id = q.organization_id AND e.queue = q.name AND e.status = 'PENDING'
         AND e.admitted_at IS NULL AND e.scheduled_for <= now())`;

/** Marks up to $1 due attempts outside queues admitted, oldest due first. Exported for bench/query-plans.ts. */
export const ADMIT_UNQUEUED_SQL = `UPDATE executions SET admitted_at = now()
     WHERE id IN (
       SELECT id FROM executions
       WHERE status = 'PENDING' AND admitted_at IS NULL AND queue IS NULL AND scheduled_for <= now()
       ORDER BY scheduled_for LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING id, organization_id AS "organizationId", scheduled_for AS "scheduledFor", now() AS "admittedAt"`;

/**
 * How many admitted, not yet started, due attempts (pg-boss jobs waiting to be fetched, in queues or not) the
 * organisation `organization` has, counted up to `bound` (executions_admitted_waiting_idx). Both kinds of admission
 * keep it below the organisation's concurrency limit and a take's batch, whichever is less: pg-boss fetches jobs
 * oldest first from every organisation below its limit, so an organisation whose limit is above what the workers run
 * at once would otherwise have all its admitted jobs fetched before another organisation's newer one.
 */
const admittedWaitingCount = (organization: string, bound: string) => `(SELECT count(*)::int FROM (
           SELECT 1 FROM executions w
           WHERE w.organization_id = ${organization} AND w.status = 'PENDING' AND w.admitted_at IS NOT NULL
             AND w.scheduled_for <= now()
           LIMIT ${bound}) admitted)`;

/**
 * Tops up every organisation with due attempts outside queues to as many
 * admitted, not yet started, due attempts (queued ones included) as its
 * concurrency limit or $1 (the take's batch), whichever is less, oldest due
 * first: an organisation at its limit with a backlog keeps a handful of jobs in
 * pg-boss, not its whole backlog (pg-boss's fetch reads every due job of a group
 * at its limit before passing over it: 75 ms per fetch with 63,000 of them), one
 * with a limit in the thousands no more than a take fetches, and another
 * organisation's newly due attempt is admitted at the next top-up however old
 * the first one's backlog is. Organisations are found by a skip scan, one index
 * probe each. Exported for bench/query-plans.ts.
 */
export const TOP_UP_UNQUEUED_SQL = `WITH RECURSIVE awaiting AS (
       (SELECT organization_id, scheduled_for FROM executions
        WHERE status = 'PENDING' AND admitted_at IS NULL AND queue IS NULL
        ORDER BY organization_id, scheduled_for LIMIT 1)
       UNION ALL
       SELECT next.organization_id, next.scheduled_for FROM awaiting a CROSS JOIN LATERAL (
         SELECT organization_id, scheduled_for FROM executions
         WHERE status = 'PENDING' AND admitted_at IS NULL AND queue IS NULL AND organization_id > a.organization_id
         ORDER BY organization_id, scheduled_for LIMIT 1) next
     )
     UPDATE executions SET admitted_at = now()
     WHERE id = ANY(ARRAY(
       SELECT due.id FROM awaiting a
       JOIN organizations o ON o.id = a.organization_id
       CROSS JOIN LATERAL (SELECT ${admittedWaitingCount("a.organization_id", "least(o.concurrency_limit, $1)")} AS count) waiting
       CROSS JOIN LATERAL (
         SELECT e.id FROM executions e
         -- The row comparison (the organisation's earliest, from the skip scan, onwards) can be answered only by the
         -- per-organisation index: with the equality alone, PostgreSQL may read the all-organisations one in due order
         -- and filter, reading a large organisation's whole backlog to top up a small one.
         WHERE (e.organization_id, e.scheduled_for) >= (a.organization_id, a.scheduled_for)
           AND e.organization_id = a.organization_id AND e.status = 'PENDING' AND e.admitted_at IS NULL
           AND e.queue IS NULL AND e.scheduled_for <= now()
         ORDER BY e.organization_id, e.scheduled_for LIMIT greatest(least(o.concurrency_limit, $1) - waiting.count, 0)
         FOR UPDATE OF e SKIP LOCKED) due
       WHERE a.scheduled_for <= now()))
     RETURNING id, organization_id AS "organizationId", scheduled_for AS "scheduledFor", now() AS "admittedAt"`;

/** How a take admits due attempts outside queues before it fetches (see the dispatcher's fetch loop). */
export type UnqueuedAdmission = { kind: "oldest" | "top-up"; limit: number };

const ADMIT_OLDEST_STATEMENT: SessionStatement = { name: "runlater_admit_unqueued", parameterTypes: ["int"], text: ADMIT_UNQUEUED_SQL };
const TOP_UP_STATEMENT: SessionStatement = { name: "runlater_top_up_unqueued", parameterTypes: ["int"], text: TOP_UP_UNQUEUED_SQL };
/** What admitUnqueuedSql runs: to be prepared on the connection first (prepareOnConnection). */
export const UNQUEUED_ADMISSION_STATEMENTS = [ADMIT_OLDEST_STATEMENT, TOP_UP_STATEMENT];

/**
 * The statement that marks due attempts outside queues admitted, as `admission` says: the `limit` oldest due, or a
 * top-up of every organisation, each to at most `limit` (TOP_UP_UNQUEUED_SQL). SQL to run in a simple query (a take
 * runs it in its BEGIN's round trip); its rows go to createAdmittedJobs.
 */
export function admitUnqueuedSql(admission: UnqueuedAdmission): string {
  return executeStatement(admission.kind === "oldest" ? ADMIT_OLDEST_STATEMENT : TOP_UP_STATEMENT, [admission.limit]);
}

/** An attempt admitUnqueuedSql admitted. */
export interface AdmittedAttempt {
  id: string;
  organizationId: string;
  scheduledFor: Date;
  admittedAt: Date;
}

/** Gives the attempts admitUnqueuedSql admitted their pg-boss jobs, on `client` (inside the same transaction). */
export async function createAdmittedJobs(client: Queryable, boss: PgBoss, rows: AdmittedAttempt[]): Promise<void> {
  // The jobs start at the transaction's now(), not the clock's (a moment later): a fetch in the same transaction
  // compares start times with now() and would otherwise skip them.
  await insertDispatchJobs(
    boss,
    client,
    rows.map((row) => ({ executionId: row.id, organizationId: row.organizationId, runAt: row.scheduledFor })),
    { now: rows[0]?.admittedAt },
  );
}

/**
 * One admission pass over every queue with due attempts waiting (workers run
 * it on every wake; an idle pass costs one query). Returns how many attempts
 * were admitted, and when a rate-limited queue may admit again. Attempts
 * outside queues are admitted by the dispatcher's take (attempts.ts).
 */
export async function admitWaitingQueues(
  pool: Pool,
  boss: PgBoss,
  /** Most admitted attempts an organisation may have waiting to be fetched (see admittedWaitingCount). */
  waitingPerOrganization: number,
): Promise<{ admitted: number; retryAt: Date | null }> {
  const { rows: waiting } = await pool.query<{ organizationId: string; name: string }>({
    name: "runlater-waiting-queues",
    text: WAITING_QUEUES_SQL,
  });
  let admitted = 0;
  let retryAt: Date | null = null;
  for (const queue of waiting) {
    const result = await withTransaction(pool, (client) => admitQueue(client, boss, { ...queue, waitingPerOrganization }));
    admitted += result.admitted;
    if (result.retryAt && (!retryAt || result.retryAt < retryAt)) retryAt = result.retryAt;
  }
  return { admitted, retryAt };
}

async function admitQueue(
  client: PoolClient,
  boss: PgBoss,
  { organizationId, name, waitingPerOrganization }: { organizationId: string; name: string; waitingPerOrganization: number },
): Promise<{ admitted: number; retryAt: Date | null }> {
  const { rows: locked } = await client.query<QueueRow>(
    `SELECT ${QUEUE_COLUMNS} FROM queues WHERE organization_id = $1 AND name = $2 AND NOT paused FOR UPDATE SKIP LOCKED`,
    [organizationId, name],
  );
  const queue = locked[0];
  if (!queue) return { admitted: 0, retryAt: null };

  const { rows: usage } = await client.query<{
    inUse: number;
    recentStarts: number;
    oldestRecentStart: Date | null;
    organizationRoom: number;
  }>(
    `SELECT
       (SELECT count(DISTINCT task_id)::int FROM executions
         WHERE organization_id = $1 AND queue = $2 AND status IN ('PENDING', 'RUNNING') AND admitted_at IS NOT NULL) AS "inUse",
       (SELECT least(o.concurrency_limit, $4) - ${admittedWaitingCount("$1", "least(o.concurrency_limit, $4)")}
         FROM organizations o WHERE o.id = $1) AS "organizationRoom",
       -- Counted up to the rate limit, all that matters (none without one: a busy queue starts thousands a second).
       (SELECT count(*)::int FROM (SELECT 1 FROM executions
         WHERE organization_id = $1 AND queue = $2 AND attempt = 1 AND admitted_at > now() - $3 * interval '1 second'
         LIMIT $5) started) AS "recentStarts",
       (SELECT min(admitted_at) FROM executions
         WHERE organization_id = $1 AND queue = $2 AND attempt = 1 AND admitted_at > now() - $3 * interval '1 second') AS "oldestRecentStart"`,
    [organizationId, name, queue.ratePeriodSeconds, waitingPerOrganization, queue.rateLimit ?? 0],
  );
  const { inUse, recentStarts, oldestRecentStart, organizationRoom } = usage[0] as (typeof usage)[number];
  // The organisation's jobs waiting to be fetched stay few (admittedWaitingCount): the rest of the queue's free slots
  // are filled by later passes, which run on every wake of a worker, as those jobs are fetched.
  let free = Math.min(queue.concurrency - inUse, organizationRoom);
  let retryAt: Date | null = null;
  if (queue.rateLimit !== null) {
    const allowance = queue.rateLimit - recentStarts;
    if (allowance <= free && oldestRecentStart) retryAt = new Date(oldestRecentStart.getTime() + queue.ratePeriodSeconds * 1000);
    free = Math.min(free, allowance);
  }
  if (free <= 0) return { admitted: 0, retryAt };

  const { rows: next } = await client.query<{ id: string; scheduledFor: Date }>(
    `UPDATE executions SET admitted_at = now()
     WHERE id IN (
       SELECT id FROM executions
       WHERE organization_id = $1 AND queue = $2 AND status = 'PENDING' AND admitted_at IS NULL AND scheduled_for <= now()
       ORDER BY priority DESC, scheduled_for, id
       LIMIT $3)
     RETURNING id, scheduled_for AS "scheduledFor"`,
    [organizationId, name, free],
  );
  await insertDispatchJobs(
    boss,
    client,
    next.map((execution) => ({ executionId: execution.id, organizationId, runAt: execution.scheduledFor })),
  );
  return { admitted: next.length, retryAt };
}

/** Wakes the workers to run admission, e.g. after a slot was freed (in the caller's transaction). */
export async function requestAdmission(db: Queryable): Promise<void> {
  await notifyDue(db, new Date());
}

export interface QueueStats {
  scheduled: number;
  running: number;
  failed: number;
}

export async function getQueue(db: Queryable, organizationId: string, name: string): Promise<QueueRow> {
  const { rows } = await db.query<QueueRow>(`SELECT ${QUEUE_COLUMNS} FROM queues WHERE organization_id = $1 AND name = $2`, [
    organizationId,
    name,
  ]);
  if (!rows[0]) throw notFound("queue", name);
  return rows[0];
}

export async function queueStats(db: Queryable, organizationId: string, names: string[]): Promise<Map<string, QueueStats>> {
  const { rows } = await db.query<{ queue: string } & QueueStats>(
    `SELECT queue,
            count(*) FILTER (WHERE status = 'SCHEDULED')::int AS scheduled,
            count(*) FILTER (WHERE status = 'RUNNING')::int AS running,
            count(*) FILTER (WHERE status = 'FAILED')::int AS failed
     FROM tasks WHERE organization_id = $1 AND queue = ANY($2::text[]) GROUP BY queue`,
    [organizationId, names],
  );
  const stats = new Map(names.map((name) => [name, { scheduled: 0, running: 0, failed: 0 }]));
  for (const row of rows) stats.set(row.queue, { scheduled: row.scheduled, running: row.running, failed: row.failed });
  return stats;
}

export interface QueueSettings {
  concurrency?: number | null;
  rateLimit?: number | null;
  ratePeriodSeconds?: number | null;
  paused?: boolean | null;
}

function checkRange(field: keyof typeof queueLimits, value: number | null | undefined): void {
  if (value === null || value === undefined) return;
  const { min, max } = queueLimits[field];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DomainError("VALIDATION_FAILED", `${field} must be a whole number between ${min} and ${max}`, { field });
  }
}

/**
 * Changes a queue's settings (creating the queue if needed). `rateLimit: null`
 * removes the rate limit; omitted settings stay as they are.
 */
export async function updateQueue(
  db: Queryable,
  organizationId: string,
  name: string,
  settings: QueueSettings & { clearRateLimit?: boolean },
): Promise<QueueRow> {
  checkRange("concurrency", settings.concurrency);
  checkRange("rateLimit", settings.rateLimit);
  checkRange("ratePeriodSeconds", settings.ratePeriodSeconds);
  await ensureQueues(db, organizationId, [validQueueName(name)]);
  const { rows } = await db.query<QueueRow>(
    `UPDATE queues SET
       concurrency = COALESCE($3, concurrency),
       rate_limit = CASE WHEN $6 THEN NULL ELSE COALESCE($4, rate_limit) END,
       rate_period_seconds = COALESCE($5, rate_period_seconds),
       paused = COALESCE($7, paused),
       updated_at = now()
     WHERE organization_id = $1 AND name = $2
     RETURNING ${QUEUE_COLUMNS}`,
    [
      organizationId,
      name,
      settings.concurrency ?? null,
      settings.rateLimit ?? null,
      settings.ratePeriodSeconds ?? null,
      settings.clearRateLimit ?? false,
      settings.paused ?? null,
    ],
  );
  // More room (or unpaused) may let waiting attempts in.
  await requestAdmission(db);
  return rows[0] as QueueRow;
}

/** Pausing or resuming a queue that does not exist is a 404: there is nothing to hold. */
export async function setQueuePaused(db: Queryable, organizationId: string, name: string, paused: boolean): Promise<QueueRow> {
  const { rows } = await db.query<QueueRow>(
    `UPDATE queues SET paused = $3, updated_at = now() WHERE organization_id = $1 AND name = $2 RETURNING ${QUEUE_COLUMNS}`,
    [organizationId, name, paused],
  );
  if (!rows[0]) throw notFound("queue", name);
  if (!paused) await requestAdmission(db);
  return rows[0];
}

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

export function validQueueName(name: string): string {
  if (!QUEUE_NAME.test(name)) {
    throw new DomainError(
      "VALIDATION_FAILED",
      "queue may contain letters, digits, '.', '_', ':' and '-', starting with a letter or digit, at most 100 characters",
      { field: "name" },
    );
  }
  return name;
}
