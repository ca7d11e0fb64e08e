/**
 * The life of a delivery attempt (an Execution), as the worker drives it.
 *
 *   PENDING ──claim──▶ RUNNING ──outcome──▶ SUCCEEDED | FAILED | TIMED_OUT
 *      │                  │
 *      ├──cancel──▶ CANCELLED   (worker lost: RUNNING ──recover──▶ FAILED)
 *      └──overlap──▶ MISSED      (a cron slot's run while an earlier run of its task is in flight, SKIP_IF_RUNNING)
 *
 * The task follows its attempts: SCHEDULED while an attempt is pending,
 * RUNNING while one is in flight, then SUCCEEDED, or FAILED once the retry
 * policy gives up; CANCELLED is set by the user and never left. A CRON task
 * goes back to SCHEDULED after each run instead (services/cron-tasks.ts).
 *
 * Every transition that ends an attempt happens in one transaction with the
 * completion of its pg-boss job and, when the policy retries, the next
 * Execution and its job. A crash between the HTTP call and that transaction
 * leaves the job active; pg-boss hands it out again when its heartbeat
 * expires, the attempt is recorded as lost, and the task is retried
 * (at-least-once delivery).
 */
import type { QueryResult } from "pg";
import type { Job, PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { DeliveryOutcome } from "../../worker/http-delivery.js";
import type { Pool, PoolClient, SessionStatement } from "../db/pool.js";
import { executeStatement, GENERIC_PLANS, prepareOnConnection, releaseReason, withTransaction } from "../db/pool.js";
import { scheduleCallbacks } from "./callbacks.js";
import { overlapSkipReason } from "./cron-schedule.js";
import {
  bossDb,
  DISPATCH_QUEUE,
  type DispatchJobData,
  enqueueAttempts,
  insertDispatchJobs,
  NEXT_DUE_SQL,
  notifyDue,
} from "./dispatch-queue.js";
import {
  type AdmittedAttempt,
  admitUnqueuedSql,
  createAdmittedJobs,
  requestAdmission,
  UNQUEUED_ADMISSION_STATEMENTS,
  type UnqueuedAdmission,
} from "./queues.js";
import { type AttemptVerdict, decideAfterAttempt } from "./retry-policy.js";
import { breakerKey, findBreakers, type OpenBreaker, recordTargetOutcome } from "./target-breakers.js";
import { type FinishedRun, recordTasksHealth } from "./task-health.js";
import type { TaskRow } from "./tasks.js";
import { TASK_COLUMNS } from "./tasks.js";

export type ExecutionStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "CANCELLED";

/** Everything a worker needs to make the HTTP request of one attempt. */
export interface ClaimedAttempt {
  executionId: string;
  attempt: number;
  task: TaskRow;
  signingSecrets: string[];
  /** Whether the target host had a circuit-breaker row when the attempt was claimed. */
  breakerTracked: boolean;
}

export type ClaimResult =
  | { kind: "claimed"; attempt: ClaimedAttempt }
  /** The attempt was RUNNING already: its worker died. Recorded as failed; maybe retried. */
  | { kind: "lost"; verdict: AttemptVerdict }
  /** Cancelled, already finished, unknown, or a cron slot skipped by its overlap policy: nothing to do but complete the job. */
  | { kind: "nothing-to-do" }
  /** The target's circuit breaker is open: the attempt waits (with a new job) until it closes. */
  | { kind: "deferred"; until: Date };

export const LOST_ATTEMPT_ERROR = "attempt lost: the worker running it stopped before it finished (crash or kill)";

/** A fetched pg-boss job and the attempt it carries. */
export interface AttemptJob {
  jobId: string;
  executionId: string;
}

interface ClaimRow {
  id: string;
  status: ExecutionStatus;
  attempt: number;
  /** From row_to_json: timestamps are strings (reviveTaskRow). */
  task: TaskRow;
  current: string;
  previous: string | null;
  busyRun: number | null;
  /** Whether the organisation has any breaker row (a host failing since its last success): rarely. */
  anyBreaker: boolean;
  /** Marked RUNNING by the claim itself (runnable, and no breaker rows to check). */
  claimed: boolean;
}

export interface TakeOptions {
  /** Most jobs to fetch. */
  batchSize: number;
  /** How due attempts outside queues are admitted first (see takeDueAttempts). */
  admission: UnqueuedAdmission;
  /** pg-boss's per-group limits: an organisation's attempts in flight across all workers. */
  groupConcurrency: { default: number; tiers: Record<string, number> };
}

export interface TakenAttempts {
  /** The fetched jobs, known before they are claimed: the dispatcher fetches again meanwhile. */
  jobs: Promise<Job<DispatchJobData>[]>;
  /** The claims of those jobs (see claimAttempts), once committed. Rejects if nothing was committed. */
  claims: Promise<Map<string, ClaimResult>>;
  /**
   * After a short take (fewer jobs than batchSize), the next attempt due (NEXT_DUE_SQL; null if none), read in the
   * commit's round trip; undefined after a full take. Settles with `claims`.
   */
  nextDue: Promise<Date | null | undefined>;
}

const NEXT_DUE_STATEMENT: SessionStatement = { name: "runlater_next_due", parameterTypes: [], text: NEXT_DUE_SQL };
/**
 * A take's first and last statements run in the round trips of its BEGIN and COMMIT, so they are prepared with SQL
 * PREPARE on each connection (prepareOnConnection) and keep their plans there.
 */
const TAKE_SESSION_STATEMENTS = [...UNQUEUED_ADMISSION_STATEMENTS, NEXT_DUE_STATEMENT];

/**
 * A worker's way to the next due attempts, in one transaction and one commit:
 * admit due first attempts outside queues as `admission` says (give them pg-boss
 * jobs), fetch up to `batchSize` jobs, and claim them. On the way from a push
 * to its request, admission, fetch and claim each had a commit of their own;
 * under load a batch saves the fetch's commit. If anything fails, all of it rolls back: the jobs
 * are not left active (as a separate fetch would leave them, until their
 * heartbeat expired), so no attempt is lost and none needs recovering.
 * Not retried after a deadlock, unlike withTransaction: the dispatcher has
 * counted the jobs already; it simply fetches again.
 *
 * The take commits without waiting for its WAL to reach the disk
 * (synchronous_commit off, for this transaction only): every push's request
 * waits for this commit, and losing it costs no work. Only a crash of
 * PostgreSQL itself within a fraction of a second of the commit can lose it,
 * and then the take is undone as a whole: its attempts are due again and run
 * again (at least once, as always: a request may have gone out). The attempts'
 * outcomes, like pushes, are committed durably (attempt-settler.ts).
 */
export function takeDueAttempts(pool: Pool, boss: PgBoss, options: TakeOptions): TakenAttempts {
  let announceJobs!: (jobs: Job<DispatchJobData>[]) => void;
  let failBeforeFetch!: (error: unknown) => void;
  const jobs = new Promise<Job<DispatchJobData>[]>((resolve, reject) => {
    announceJobs = resolve;
    failBeforeFetch = reject;
  });
  const committed = (async (): Promise<{ results: Map<string, ClaimResult>; nextDue: Date | null | undefined }> => {
    const client = await pool.connect().catch((error: unknown) => {
      failBeforeFetch(error);
      throw error;
    });
    let broken: Error | undefined;
    try {
      await prepareOnConnection(client, TAKE_SESSION_STATEMENTS);
      // BEGIN, the take's setting and its admission in one round trip (simple query protocol: a result per statement).
      const begun = (await client.query(
        `BEGIN; SET LOCAL synchronous_commit = off; ${admitUnqueuedSql(options.admission)}`,
      )) as unknown as [QueryResult, QueryResult, QueryResult<AdmittedAttempt>];
      await createAdmittedJobs(client, boss, begun[2].rows);
      const fetched = await boss.fetch<DispatchJobData>(DISPATCH_QUEUE, {
        batchSize: options.batchSize,
        groupConcurrency: options.groupConcurrency,
        db: bossDb(client),
      });
      announceJobs(fetched);
      const results = await claimAttempts(
        client,
        boss,
        fetched.map((job) => ({ jobId: job.id, executionId: job.data.executionId })),
      );
      if (fetched.length < options.batchSize) {
        // In the commit's round trip, as with BEGIN above.
        const [nextDue] = (await client.query(`${executeStatement(NEXT_DUE_STATEMENT)}; COMMIT`)) as unknown as [
          QueryResult<{ due: Date }>,
          QueryResult,
        ];
        return { results, nextDue: nextDue.rows[0]?.due ?? null };
      }
      await client.query("COMMIT");
      return { results, nextDue: undefined };
    } catch (error) {
      failBeforeFetch(error);
      await client.query("ROLLBACK").catch(() => undefined);
      broken = releaseReason(error);
      throw error;
    } finally {
      client.release(broken);
    }
  })();
  const claims = committed.then((taken) => taken.results);
  const nextDue = committed.then((taken) => taken.nextDue);
  // A failure is reported once, through `jobs` when it came before the fetch; `claims` and `nextDue` are then not awaited.
  claims.catch(() => undefined);
  nextDue.catch(() => undefined);
  return { jobs, claims, nextDue };
}

/**
 * The tasks of the attempts a claim made RUNNING (the CTE `claimed`: task ids and attempt numbers) go RUNNING with
 * them; shared by both claim statements. Two runs of one cron task in a batch (overlap ALLOW) update its row once:
 * either attempt number will do.
 */
const RUNNING_TASKS_CTE = `running_tasks AS (
       UPDATE tasks t SET status = 'RUNNING', attempts = c.attempt, updated_at = now()
       FROM (SELECT DISTINCT ON (task_id) task_id, attempt FROM claimed) c
       WHERE t.id = c.task_id
     )`;

/**
 * The claim, in one statement, for the attempts `match` selects: locks them in order and reads them with their tasks
 * and signing secrets, and marks those that can run now — PENDING, task not cancelled, not skipped by a cron overlap
 * policy, no breaker row in their organisation — RUNNING with their tasks (`claimed`). The rest come back unclaimed
 * for the caller to settle or, with breaker rows, to check (CLAIM_WRITE_SQL then claims those whose breaker is
 * closed). A read and a write used to be two statements: one round trip more on every push's way to its request.
 * Locking rows in one CTE and updating them in another is the usual queue pattern: the UPDATE works on the rows as
 * locked (the newest versions), never on the snapshot's.
 */
const claimSql = (match: string) => `WITH read AS (
       SELECT e.id, e.task_id, e.status, e.attempt, row_to_json(t) AS task, t.status AS task_status,
            o.signing_secret AS current,
            CASE WHEN o.previous_signing_secret_expires_at > now() THEN o.previous_signing_secret END AS previous,
            -- A cron slot's run was created ahead of its slot: SKIP_IF_RUNNING is decided now, at the slot.
            CASE WHEN e.cron_slot IS NOT NULL AND e.attempt = 1 AND t.overlap = 'SKIP_IF_RUNNING' THEN
              (SELECT max(p.run) FROM executions p
               WHERE p.task_id = e.task_id AND p.id <> e.id AND (p.status = 'RUNNING' OR (p.status = 'PENDING' AND p.run < e.run)))
            END AS busy_run,
            -- Breakers exist only for hosts failing since their last success: most batches need no breaker query.
            EXISTS (SELECT 1 FROM target_breakers b WHERE b.organization_id = e.organization_id) AS any_breaker
       FROM executions e
       JOIN LATERAL (SELECT ${TASK_COLUMNS} FROM tasks WHERE tasks.id = e.task_id) t ON true
       JOIN organizations o ON o.id = e.organization_id
       WHERE ${match}
       ORDER BY e.id
       FOR UPDATE OF e
     ),
     claimed AS (
       UPDATE executions e SET status = 'RUNNING', started_at = now()
       FROM read r
       WHERE e.id = r.id AND r.status = 'PENDING' AND r.task_status <> 'CANCELLED' AND r.busy_run IS NULL AND NOT r.any_breaker
       RETURNING e.id, e.task_id, e.attempt
     ),
     ${RUNNING_TASKS_CTE}
     SELECT r.id, r.status, r.attempt, r.task, r.current, r.previous, r.busy_run AS "busyRun", r.any_breaker AS "anyBreaker",
            EXISTS (SELECT 1 FROM claimed c WHERE c.id = r.id) AS claimed
     FROM read r
     ORDER BY r.id`;
/** The claim of a batch ($1: execution ids). Exported for bench/query-plans.ts. */
export const CLAIM_SQL = claimSql("e.id = ANY($1::uuid[])");
/**
 * The same for a batch of one, the usual take at a low rate. With an array, PostgreSQL's plan cache kept making a
 * custom plan for every take (one for one id looks cheaper than the generic one, sized for an array of unknown
 * length): 0.7 ms of planning for 0.07 ms of work. With one id both plans cost the same, so the generic plan is kept.
 */
const CLAIM_ONE_SQL = claimSql("e.id = $1::uuid");

/**
 * Claims attempts the claim left unclaimed only because their organisation has breaker rows, once their breakers
 * are known to be closed: the attempts and their tasks RUNNING. Exported for bench/query-plans.ts.
 */
export const CLAIM_WRITE_SQL = `WITH claimed AS (
       UPDATE executions SET status = 'RUNNING', started_at = now() WHERE id = ANY($1::uuid[]) RETURNING task_id, attempt
     ),
     ${RUNNING_TASKS_CTE}
     SELECT count(*)::int AS claimed FROM claimed`;

/**
 * Claims the attempts of a fetched batch of jobs, on `client` inside the
 * caller's transaction (takeDueAttempts): marks those that can run RUNNING
 * (and their tasks with them) and returns what their HTTP requests need,
 * keyed by job id. The others are settled on the
 * way: an attempt whose previous worker was lost is recorded as failed (and
 * maybe retried), a cancelled or finished one just completes its job, a cron
 * slot skipped by its overlap policy is MISSED, and an attempt to a host whose
 * circuit breaker is open is deferred. A batch costs the same few statements
 * as one attempt; only those unusual cases add statements of their own.
 */
async function claimAttempts(client: PoolClient, boss: PgBoss, jobs: AttemptJob[]): Promise<Map<string, ClaimResult>> {
  if (jobs.length === 0) return new Map();
  const results = new Map<string, ClaimResult>();
  // Ordered locks: two workers claiming overlapping batches never wait on each other in a cycle.
  const { rows } = await client.query<ClaimRow>(
    // Named: prepared once per connection, these statements run for every batch.
    jobs.length === 1
      ? { name: "runlater-claim-one", text: CLAIM_ONE_SQL, values: [(jobs[0] as AttemptJob).executionId] }
      : { name: "runlater-claim", text: CLAIM_SQL, values: [jobs.map((job) => job.executionId)] },
  );
  const rowOf = new Map(rows.map((row) => [row.id, row]));
  const runnable = (row: ClaimRow | undefined): row is ClaimRow =>
    row?.status === "PENDING" && row.task.status !== "CANCELLED" && row.busyRun === null;
  const breakers = await findBreakers(
    client,
    rows.filter((row) => runnable(row) && row.anyBreaker).map((row) => ({ organizationId: row.task.organizationId, url: row.task.url })),
  );

  const toRun: Array<{ job: AttemptJob; row: ClaimRow; tracked: boolean }> = [];
  const toClaim: AttemptJob[] = [];
  for (const job of jobs) {
    const row = rowOf.get(job.executionId);
    if (row?.claimed) {
      toRun.push({ job, row, tracked: false });
      continue;
    }
    if (!runnable(row)) {
      results.set(job.jobId, await settleUnrunnable(client, boss, job, row));
      continue;
    }
    const breaker = breakers.get(breakerKey(row.task.organizationId, row.task.url));
    if (breaker?.open) {
      await deferWhileBreakerOpen(client, boss, { ...job, organizationId: row.task.organizationId }, breaker.open);
      results.set(job.jobId, { kind: "deferred", until: breaker.open.openUntil });
      continue;
    }
    toRun.push({ job, row, tracked: breaker?.tracked ?? false });
    toClaim.push(job);
  }
  if (toClaim.length > 0) {
    await client.query({ name: "runlater-claim-write", text: CLAIM_WRITE_SQL, values: [toClaim.map((job) => job.executionId)] });
  }
  const claimedAt = new Date();
  for (const { job, row, tracked } of toRun) {
    results.set(job.jobId, {
      kind: "claimed",
      attempt: {
        executionId: job.executionId,
        attempt: row.attempt,
        // The row as the claim read it, with what the claim changed.
        task: { ...reviveTaskRow(row.task), status: "RUNNING", attempts: row.attempt, updatedAt: claimedAt },
        signingSecrets: row.previous ? [row.current, row.previous] : [row.current],
        breakerTracked: tracked,
      },
    });
  }
  return results;
}

/** An attempt that will not run now: lost by its worker, cancelled, finished, unknown, or skipped by its overlap policy. */
async function settleUnrunnable(client: PoolClient, boss: PgBoss, job: AttemptJob, row: ClaimRow | undefined): Promise<ClaimResult> {
  if (row?.status === "RUNNING") {
    const task = reviveTaskRow(row.task);
    const outcome: DeliveryOutcome = { kind: "network-error", durationMs: 0, error: LOST_ATTEMPT_ERROR, code: "WORKER_LOST" };
    const verdict = decideAfterAttempt(outcome, { attempt: row.attempt, retries: task.retries, now: new Date() });
    await settleAttempts(client, boss, [{ claimed: { ...job, attempt: row.attempt, task }, outcome, verdict }]);
    return { kind: "lost", verdict };
  }
  if (row?.status === "PENDING" && row.task.status === "CANCELLED") {
    await client.query("UPDATE executions SET status = 'CANCELLED', finished_at = now() WHERE id = $1", [job.executionId]);
  } else if (row?.status === "PENDING" && row.busyRun !== null) {
    await client.query("UPDATE executions SET status = 'MISSED', error = $2, finished_at = now() WHERE id = $1", [
      job.executionId,
      overlapSkipReason(row.busyRun),
    ]);
  }
  await boss.complete(DISPATCH_QUEUE, job.jobId, null, { db: bossDb(client) });
  return { kind: "nothing-to-do" };
}

/**
 * Moves an attempt past an open breaker without counting it: its job is
 * completed and a new one (a fresh id, the same execution, recorded as its
 * `deferred_job_id`) is due when the breaker's pause ends; the execution says
 * why it waits.
 */
async function deferWhileBreakerOpen(
  client: PoolClient,
  boss: PgBoss,
  attempt: { jobId: string; executionId: string; organizationId: string },
  breaker: OpenBreaker,
): Promise<void> {
  const deferredJobId = uuidv7();
  await client.query("UPDATE executions SET scheduled_for = $2, waiting_reason = $3, deferred_job_id = $4 WHERE id = $1", [
    attempt.executionId,
    breaker.openUntil,
    `circuit breaker open for this host until ${breaker.openUntil.toISOString()}: ${breaker.reason}`,
    deferredJobId,
  ]);
  await boss.complete(DISPATCH_QUEUE, attempt.jobId, null, { db: bossDb(client) });
  await insertDispatchJobs(boss, client, [
    { jobId: deferredJobId, executionId: attempt.executionId, organizationId: attempt.organizationId, runAt: breaker.openUntil },
  ]);
  await notifyDue(client, breaker.openUntil);
}

/** An attempt whose HTTP request has finished, with what it produced. */
export interface FinishedAttempt {
  claimed: ClaimedAttempt & { jobId: string };
  outcome: DeliveryOutcome;
}

/**
 * Records what HTTP attempts produced and acts on each verdict, in one
 * transaction with the completion of their jobs. Workers settle the attempts
 * that finish close together as one batch: a batch costs the same few
 * statements as one attempt, plus statements of its own for each retry and
 * callback. Verdicts come back in the order of `finished`.
 */
export async function recordAttemptOutcomes(
  pool: Pool,
  boss: PgBoss,
  finished: FinishedAttempt[],
  now = new Date(),
): Promise<AttemptVerdict[]> {
  const settled = finished.map(({ claimed, outcome }) => ({
    claimed,
    outcome,
    verdict: decideAfterAttempt(outcome, { attempt: claimed.attempt, retries: claimed.task.retries, now }),
  }));
  if (settled.length === 0) return [];
  await withTransaction(
    pool,
    async (client) => {
      for (const { claimed, outcome } of settled) {
        await recordTargetOutcome(client, claimed.task.organizationId, claimed.task.url, outcome, { tracked: claimed.breakerTracked, now });
      }
      await settleAttempts(client, boss, settled);
    },
    { settings: [GENERIC_PLANS] },
  );
  return settled.map(({ verdict }) => verdict);
}

/** Records what one HTTP attempt produced (see recordAttemptOutcomes). */
export async function recordAttemptOutcome(
  pool: Pool,
  boss: PgBoss,
  claimed: ClaimedAttempt & { jobId: string },
  outcome: DeliveryOutcome,
  now = new Date(),
): Promise<AttemptVerdict> {
  const [verdict] = await recordAttemptOutcomes(pool, boss, [{ claimed, outcome }], now);
  return verdict as AttemptVerdict;
}

function executionStatusFor(outcome: DeliveryOutcome, verdict: AttemptVerdict): ExecutionStatus {
  if (verdict.kind === "succeeded") return "SUCCEEDED";
  return outcome.kind === "timeout" ? "TIMED_OUT" : "FAILED";
}

interface AttemptToSettle {
  claimed: { jobId: string; executionId: string; attempt: number; task: TaskRow };
  outcome: DeliveryOutcome;
  verdict: AttemptVerdict;
}

/**
 * The settle's first statement, one round trip for three steps: records the attempts' outcomes ($1-$8) on those still
 * RUNNING, locks their tasks in id order (a concurrent cancel either sees these outcomes or prevents what follows), and
 * finishes the tasks whose runs ended ($9-$10: executions with the final verdicts of one-off tasks) unless the lock
 * found them cancelled. Returns each recorded execution with its task and whether that was cancelled. An attempt no
 * longer RUNNING was settled already — recovered as lost by another worker while its own worker, stalled past its
 * heartbeat, still ran it — and its late outcome must not overwrite that record or finish a task whose retry is due.
 * In the plans PostgreSQL makes for it (the outcomes read whole by a hash or semi
 * join, under the lock's sort), every outcome is written before the first task is locked: the order the settle always
 * took, attempts then tasks. Data-modifying CTEs have no guaranteed order, so a plan that interleaved them could at
 * worst deadlock with a claim, and withTransaction retries a deadlock. Updating rows a sibling CTE locked is the usual
 * queue pattern: the UPDATE works on the rows as locked (checked with concurrent cancels and edits).
 */
const SETTLE_SQL = `WITH settled AS (
       UPDATE executions e SET status = s.status, finished_at = now(), duration_ms = s.duration_ms,
              response_status = s.response_status, response_headers = s.response_headers, response_body = s.response_body,
              response_body_truncated = s.response_body_truncated, error = s.error
       FROM unnest($1::uuid[], $2::execution_status[], $3::int[], $4::int[], $5::jsonb[], $6::text[], $7::boolean[], $8::text[])
         AS s(execution_id, status, duration_ms, response_status, response_headers, response_body, response_body_truncated, error)
       WHERE e.id = s.execution_id AND e.status = 'RUNNING'
       RETURNING e.id, e.task_id
     ),
     locked AS (
       SELECT id, status = 'CANCELLED' AS cancelled FROM tasks WHERE id IN (SELECT task_id FROM settled) ORDER BY id FOR UPDATE
     ),
     finished AS (
       UPDATE tasks t SET status = f.status, completed_at = now(), updated_at = now()
       FROM unnest($9::uuid[], $10::task_status[]) AS f(execution_id, status)
       JOIN settled s ON s.id = f.execution_id
       JOIN locked l ON l.id = s.task_id AND NOT l.cancelled
       WHERE t.id = s.task_id
     )
     SELECT s.id AS "executionId", l.id AS "taskId", l.cancelled FROM settled s JOIN locked l ON l.id = s.task_id`;

async function settleAttempts(client: PoolClient, boss: PgBoss, attempts: AttemptToSettle[]): Promise<void> {
  const responseOf = (outcome: DeliveryOutcome) => (outcome.kind === "response" ? outcome : null);
  // Runs that end here, if their tasks turn out not to be cancelled: a retry continues the run, a cron task waits for
  // its next slot (below).
  const ending = attempts.filter(({ claimed, verdict }) => verdict.kind !== "retry" && claimed.task.type !== "CRON");
  const { rows } = await client.query<{ executionId: string; taskId: string; cancelled: boolean }>({
    name: "runlater-settle",
    text: SETTLE_SQL,
    values: [
      attempts.map(({ claimed }) => claimed.executionId),
      attempts.map(({ outcome, verdict }) => executionStatusFor(outcome, verdict)),
      attempts.map(({ outcome }) => Math.round(outcome.durationMs)),
      attempts.map(({ outcome }) => responseOf(outcome)?.status ?? null),
      attempts.map(({ outcome }) => {
        const response = responseOf(outcome);
        return response ? JSON.stringify(response.headers) : null;
      }),
      // PostgreSQL text cannot hold NUL; a binary body is kept readable rather than rejected.
      attempts.map(({ outcome }) => responseOf(outcome)?.body.replaceAll("\u0000", "\uFFFD") ?? null),
      attempts.map(({ outcome }) => responseOf(outcome)?.bodyTruncated ?? false),
      attempts.map(({ verdict }) => (verdict.kind === "succeeded" ? null : verdict.reason)),
      ending.map(({ claimed }) => claimed.executionId),
      ending.map(({ verdict }) => (verdict.kind === "succeeded" ? "SUCCEEDED" : "FAILED")),
    ],
  });
  const cancelledTasks = new Set(rows.filter((row) => row.cancelled).map((row) => row.taskId));
  // Attempts settled already (see SETTLE_SQL) only have their jobs completed: no retry, callback or health change.
  const recorded = new Set(rows.map((row) => row.executionId));
  const jobIds = attempts.map(({ claimed }) => claimed.jobId);
  const recordedAttempts = attempts.filter(({ claimed }) => recorded.has(claimed.executionId));

  const cronTasks: string[] = [];
  let queueSlotFreed = false;
  for (const { claimed, verdict } of recordedAttempts) {
    const cancelled = cancelledTasks.has(claimed.task.id);
    if (verdict.kind === "retry" && !cancelled) {
      await scheduleRetry(client, boss, claimed, verdict.delayMs);
    } else if (!cancelled && claimed.task.type === "CRON") {
      cronTasks.push(claimed.task.id);
    }
    // The task no longer holds a slot in its queue: let the next one in.
    if (claimed.task.queue !== null && (verdict.kind !== "retry" || cancelled)) queueSlotFreed = true;
  }
  if (cronTasks.length > 0) {
    // A cron task outlives its runs: after a run's final outcome it waits for its next slot (RUNNING while another run is).
    await client.query(
      `UPDATE tasks t SET status = CASE WHEN EXISTS (SELECT 1 FROM executions WHERE task_id = t.id AND status = 'RUNNING')
         THEN 'RUNNING'::task_status ELSE 'SCHEDULED'::task_status END, updated_at = now() WHERE t.id = ANY($1::uuid[])`,
      [cronTasks],
    );
  }
  // Callbacks (callbackUrl, onFailureUrl) are CALLBACK tasks, written in this transaction with the outcome they report,
  // the task's new status included.
  const finishedRuns: FinishedRun[] = [];
  for (const { claimed, verdict } of recordedAttempts) {
    const cancelled = cancelledTasks.has(claimed.task.id);
    await scheduleCallbacks(client, { executionId: claimed.executionId, task: claimed.task, verdict, cancelled });
    if (verdict.kind !== "retry" && !cancelled) {
      finishedRuns.push({
        task: claimed.task,
        succeeded: verdict.kind === "succeeded",
        reason: verdict.kind === "failed" ? verdict.reason : null,
      });
    }
  }
  // A run that ended FAILED, or succeeded after one that did, changes the task's (or its endpoint's) health: alerts.
  await recordTasksHealth(client, boss, finishedRuns);
  if (queueSlotFreed) await requestAdmission(client);
  await boss.complete(DISPATCH_QUEUE, jobIds, null, { db: bossDb(client) });
}

/** The next attempt of a run, due after the policy's delay. */
async function scheduleRetry(client: PoolClient, boss: PgBoss, claimed: AttemptToSettle["claimed"], delayMs: number): Promise<void> {
  const executionId = uuidv7();
  const runAt = new Date(Date.now() + delayMs);
  // A retry keeps the task's place in its queue: it is admitted at once, and the slot stays taken.
  await client.query(
    `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, admitted_at, queue, priority)
     SELECT $1, organization_id, task_id, run, $3, 'PENDING', $4, now(), queue, priority FROM executions WHERE id = $2`,
    [executionId, claimed.executionId, claimed.attempt + 1, runAt],
  );
  await client.query("UPDATE tasks SET status = 'SCHEDULED', updated_at = now() WHERE id = $1", [claimed.task.id]);
  await enqueueAttempts(boss, client, [{ executionId, organizationId: claimed.task.organizationId, queue: null, runAt, admitted: true }]);
}

/** row_to_json gives timestamps as strings; the rest of the code expects Dates. */
function reviveTaskRow(task: TaskRow): TaskRow {
  const date = (value: Date | string | null) => (value === null ? null : new Date(value));
  return {
    ...task,
    runAt: date(task.runAt) as Date,
    createdAt: date(task.createdAt) as Date,
    updatedAt: date(task.updatedAt) as Date,
    completedAt: date(task.completedAt),
    nextRunAt: date(task.nextRunAt),
    preparedSlot: date(task.preparedSlot),
  };
}
