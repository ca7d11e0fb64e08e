/**
 * The pg-boss queue that carries delivery attempts, shared by the server
 * (which enqueues) and the worker (which fetches).
 *
 * One pg-boss job per Execution, with the job id equal to the execution id, so
 * a job can always be found, moved or cancelled from its execution. Retries are
 * decided by Runlater (retry-policy.ts), not by pg-boss: a failed attempt
 * completes its job and enqueues the next attempt in the same transaction.
 * pg-boss's own retry only recovers jobs whose worker died (expired heartbeat).
 */
import type { Db, PgBoss } from "pg-boss";
import type { Queryable } from "../db/pool.js";

export const DISPATCH_QUEUE = "runlater-dispatch";

/** NOTIFY channel telling workers an attempt is due at <payload> (epoch ms). */
export const DISPATCH_CHANNEL = "runlater_dispatch";

export interface DispatchJobData {
  executionId: string;
}

/**
 * pg-boss's statements that run on our connections get a name (bossDb), so each connection prepares them once and
 * reuses their plan instead of planning every job insert and completion anew. Bounded, as a few texts inline a value;
 * beyond the bound a statement simply runs unnamed.
 */
const bossStatementNames = new Map<string, string>();
const MAX_NAMED_BOSS_STATEMENTS = 64;

function bossStatementName(text: string): string | undefined {
  let name = bossStatementNames.get(text);
  if (name === undefined && bossStatementNames.size < MAX_NAMED_BOSS_STATEMENTS) {
    name = `runlater-pgboss-${bossStatementNames.size + 1}`;
    bossStatementNames.set(text, name);
  }
  return name;
}

/**
 * Lets pg-boss run its statements on our connection, inside our transaction, prepared once per connection (named:
 * bossStatementName). The fetch too, but never under GENERIC_PLANS: forced onto its generic plan it took 44 ms on
 * average while a worker drained a 100,000-task backlog, against about 14 ms custom-planned; left to the plan cache
 * (plan_cache_mode auto) PostgreSQL keeps whichever is cheaper, and at 100 takes/s stops spending 0.8 ms per task
 * planning it.
 */
export function bossDb(client: Queryable): Db {
  return {
    executeSql: (text, values) =>
      // Only statements with parameters are prepared (a text of several statements cannot be).
      values?.length
        ? client.query({ name: bossStatementName(text), text, values: values as unknown[] })
        : client.query(text, values as unknown[]),
  };
}

/**
 * Creates the dispatch queue, or brings an existing one's settings up to date. `heartbeatSeconds` is applied by
 * processes that run workers (`ownsHeartbeat`): jobs expire after the queue's heartbeat, and a worker touches its jobs
 * every third of its own RUNLATER_JOB_HEARTBEAT_SECONDS, so a queue left at an older, shorter value (set by whichever
 * process started first) recovered healthy attempts as lost and ran them again. All workers must share the setting.
 */
export async function ensureDispatchQueue(boss: PgBoss, options: { heartbeatSeconds: number; ownsHeartbeat: boolean }): Promise<void> {
  const queue = await boss.getQueue(DISPATCH_QUEUE);
  const settings = {
    // Attempts last at most 5 minutes (the largest timeoutMs); the heartbeat finds crashed workers sooner.
    expireInSeconds: 15 * 60,
    heartbeatSeconds: options.heartbeatSeconds,
    // Only used to recover jobs of crashed workers; each recovery is recorded as a failed attempt.
    retryLimit: 100,
    retryDelay: 0,
    deleteAfterSeconds: 24 * 3600,
    // A due job not fetched within this long is deleted by pg-boss: generous, for backlogs behind a
    // long outage. The attempt's row would stay PENDING; the admission and wake-up paths rely on jobs.
    retentionSeconds: 30 * 24 * 3600,
  };
  if (!queue) {
    await boss.createQueue(DISPATCH_QUEUE, settings);
    return;
  }
  const heartbeatChanged = options.ownsHeartbeat && queue.heartbeatSeconds !== settings.heartbeatSeconds;
  if (queue.retentionSeconds !== settings.retentionSeconds || heartbeatChanged) {
    await boss.updateQueue(DISPATCH_QUEUE, {
      retentionSeconds: settings.retentionSeconds,
      ...(heartbeatChanged ? { heartbeatSeconds: settings.heartbeatSeconds } : {}),
    });
  }
}

/**
 * The next attempt due. Attempts waiting in a full queue are not counted: the slot's release wakes the workers. Due
 * attempts outside queues are, admitted or not: a take admits only as many as it fetches. Read by a short
 * take (attempts.ts), for the dispatcher's timer; exported for bench/query-plans.ts.
 */
export const NEXT_DUE_SQL = `SELECT scheduled_for AS due FROM executions
       WHERE status = 'PENDING' AND (admitted_at IS NOT NULL OR queue IS NULL OR scheduled_for > now())
       ORDER BY scheduled_for LIMIT 1`;

/** A PENDING execution whose row is written, ready to be handed to the dispatcher. */
export interface AttemptToEnqueue {
  executionId: string;
  organizationId: string;
  /** The task's queue: attempts of a named queue are admitted in the queue's order and within its limits. */
  queue: string | null;
  runAt: Date;
  /**
   * True when the row is written admitted and gets its pg-boss job at once, due at `runAt`: a retry (keeping its
   * task's queue slot), or a cron run created ahead of its slot outside named queues. Other first attempts are
   * written unadmitted and wait for an admission pass.
   */
  admitted?: boolean;
}

/**
 * Hands attempts (whose execution rows are written) to the dispatcher, on
 * `client` so it all commits or not with the caller's transaction.
 *
 * A new run's first attempt is written with `admitted_at` null and gets no
 * pg-boss job here: workers create jobs for due attempts in batches, in their
 * admission pass (queues.ts), so a push costs no job insert, delayed tasks
 * keep pg-boss's job table small, and queues can apply their order and limits.
 * Retries (`admitted`) get their job at once. A NOTIFY wakes the workers when
 * the earliest attempt is due.
 */
export async function enqueueAttempts(boss: PgBoss, client: Queryable, attempts: AttemptToEnqueue[]): Promise<void> {
  if (attempts.length === 0) return;
  await insertDispatchJobs(
    boss,
    client,
    attempts.filter((attempt) => attempt.admitted),
  );
  const queuedByOrganization = new Map<string, AttemptToEnqueue[]>();
  for (const attempt of attempts) {
    if (attempt.admitted || attempt.queue === null) continue;
    queuedByOrganization.set(attempt.organizationId, [...(queuedByOrganization.get(attempt.organizationId) ?? []), attempt]);
  }
  for (const [organizationId, queued] of queuedByOrganization) {
    await holdForAdmission(
      client,
      organizationId,
      queued.map((attempt) => attempt.executionId),
      queued.map((attempt) => attempt.queue as string),
    );
  }
  const earliest = Math.min(...attempts.map((attempt) => attempt.runAt.getTime()));
  await notifyDue(client, new Date(earliest));
}

/**
 * The id of the pg-boss job carrying an attempt, as SQL over a row of executions (named `executions` in the query):
 * the execution's own id, or the job a deferral past an open circuit breaker created (`deferred_job_id`). Moving or
 * cancelling an attempt's job goes by it.
 */
export function attemptJobId(executions = "executions"): string {
  return `coalesce(${executions}.deferred_job_id, ${executions}.id)`;
}

/**
 * Creates the pg-boss jobs of admitted attempts, one statement for all. Each
 * job is in its organisation's group, so a fetch never runs more of one
 * organisation's attempts at once than its concurrency limit (the group's
 * tier is the organisation id; see the dispatcher's fetch).
 */
export async function insertDispatchJobs(
  boss: PgBoss,
  client: Queryable,
  /** The job id is the execution id, unless the attempt already had a job (`jobId`: a deferral). */
  attempts: Array<{ executionId: string; organizationId: string; runAt: Date; jobId?: string }>,
  /** The time jobs of attempts due in the past start at: by default the clock's now; in a transaction that fetches them, its now(). */
  options: { now?: Date } = {},
): Promise<void> {
  if (attempts.length === 0) return;
  const now = (options.now ?? new Date()).getTime();
  await boss.insert(
    DISPATCH_QUEUE,
    attempts.map((attempt) => ({
      id: attempt.jobId ?? attempt.executionId,
      data: { executionId: attempt.executionId } satisfies DispatchJobData,
      // pg-boss deletes a job left unstarted `retentionSeconds` after its startAfter; an attempt that waited in
      // a queue (or a paused one) may be due long ago, so its job counts from now.
      startAfter: new Date(Math.max(attempt.runAt.getTime(), now)),
      group: { id: attempt.organizationId, tier: attempt.organizationId },
    })),
    { db: bossDb(client) },
  );
}

/** Creates the named queues (with default settings) that do not exist yet. */
export async function ensureQueues(db: Queryable, organizationId: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await db.query(
    `INSERT INTO queues (id, organization_id, name)
     SELECT gen_random_uuid(), $1, name FROM unnest($2::text[]) AS name
     ON CONFLICT (organization_id, name) DO NOTHING`,
    [organizationId, [...new Set(names)]],
  );
}

/**
 * Marks attempts as waiting in their queues: copies the task's queue and
 * priority onto the executions (admission reads them from one index, in
 * order) and creates queues met for the first time.
 */
async function holdForAdmission(db: Queryable, organizationId: string, executionIds: string[], queues: string[]): Promise<void> {
  await ensureQueues(db, organizationId, queues);
  await db.query(
    `UPDATE executions e SET queue = t.queue, priority = t.priority
     FROM tasks t WHERE e.id = ANY($1::uuid[]) AND t.id = e.task_id`,
    [executionIds],
  );
}

/** NOTIFY is transactional: workers hear it only if and when the transaction commits. */
export async function notifyDue(client: Queryable, runAt: Date): Promise<void> {
  await client.query("SELECT pg_notify($1, $2)", [DISPATCH_CHANNEL, String(runAt.getTime())]);
}
