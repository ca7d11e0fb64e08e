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
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { DeliveryOutcome } from "../../worker/http-delivery.js";
import type { Pool, PoolClient } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { scheduleCallbacks } from "./callbacks.js";
import { overlapSkipReason } from "./cron-schedule.js";
import { bossDb, DISPATCH_QUEUE, enqueueAttempts, insertDispatchJobs, notifyDue } from "./dispatch-queue.js";
import { requestAdmission } from "./queues.js";
import { type AttemptVerdict, decideAfterAttempt } from "./retry-policy.js";
import { findBreaker, type OpenBreaker, recordTargetOutcome } from "./target-breakers.js";
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

/**
 * Marks the attempt RUNNING (and its task with it) and returns what the HTTP
 * request needs, or settles an attempt whose previous worker was lost.
 * The job is completed here when there is nothing to run.
 */
export async function claimAttempt(pool: Pool, boss: PgBoss, jobId: string, executionId: string): Promise<ClaimResult> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{
      status: ExecutionStatus;
      attempt: number;
      task: TaskRow;
      current: string;
      previous: string | null;
      busyRun: number | null;
    }>(
      `SELECT e.status, e.attempt, row_to_json(t) AS task, o.signing_secret AS current,
              CASE WHEN o.previous_signing_secret_expires_at > now() THEN o.previous_signing_secret END AS previous,
              -- A cron slot's run was created ahead of its slot: SKIP_IF_RUNNING is decided now, at the slot.
              CASE WHEN e.cron_slot IS NOT NULL AND e.attempt = 1 AND t.overlap = 'SKIP_IF_RUNNING' THEN
                (SELECT max(p.run) FROM executions p
                 WHERE p.task_id = e.task_id AND p.id <> e.id AND (p.status = 'RUNNING' OR (p.status = 'PENDING' AND p.run < e.run)))
              END AS "busyRun"
       FROM executions e
       JOIN LATERAL (SELECT ${TASK_COLUMNS} FROM tasks WHERE tasks.id = e.task_id) t ON true
       JOIN organizations o ON o.id = e.organization_id
       WHERE e.id = $1
       FOR UPDATE OF e`,
      [executionId],
    );
    const row = rows[0];
    if (row?.status !== "PENDING" || row.task.status === "CANCELLED") {
      if (row?.status === "RUNNING") {
        const task = reviveTaskRow(row.task);
        const outcome: DeliveryOutcome = { kind: "network-error", durationMs: 0, error: LOST_ATTEMPT_ERROR, code: "WORKER_LOST" };
        const verdict = decideAfterAttempt(outcome, { attempt: row.attempt, retries: task.retries, now: new Date() });
        await settleAttempt(client, boss, { jobId, executionId, attempt: row.attempt, task }, outcome, verdict);
        return { kind: "lost", verdict };
      }
      if (row?.status === "PENDING") {
        await client.query("UPDATE executions SET status = 'CANCELLED', finished_at = now() WHERE id = $1", [executionId]);
      }
      await boss.complete(DISPATCH_QUEUE, jobId, null, { db: bossDb(client) });
      return { kind: "nothing-to-do" };
    }
    if (row.busyRun !== null) {
      await client.query("UPDATE executions SET status = 'MISSED', error = $2 WHERE id = $1", [
        executionId,
        overlapSkipReason(row.busyRun),
      ]);
      await boss.complete(DISPATCH_QUEUE, jobId, null, { db: bossDb(client) });
      return { kind: "nothing-to-do" };
    }
    const breaker = await findBreaker(client, row.task.organizationId, row.task.url);
    if (breaker.open) {
      await deferWhileBreakerOpen(client, boss, { jobId, executionId, organizationId: row.task.organizationId }, breaker.open);
      return { kind: "deferred", until: breaker.open.openUntil };
    }
    await client.query("UPDATE executions SET status = 'RUNNING', started_at = now() WHERE id = $1", [executionId]);
    const { rows: tasks } = await client.query<TaskRow>(
      `UPDATE tasks SET status = 'RUNNING', attempts = $2, updated_at = now() WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [row.task.id, row.attempt],
    );
    return {
      kind: "claimed",
      attempt: {
        executionId,
        attempt: row.attempt,
        task: tasks[0] as TaskRow,
        signingSecrets: row.previous ? [row.current, row.previous] : [row.current],
        breakerTracked: breaker.tracked,
      },
    };
  });
}

/**
 * Moves an attempt past an open breaker without counting it: its job is
 * completed and a new one (a fresh id, the same execution) is due when the
 * breaker's pause ends; the execution says why it waits.
 */
async function deferWhileBreakerOpen(
  client: PoolClient,
  boss: PgBoss,
  attempt: { jobId: string; executionId: string; organizationId: string },
  breaker: OpenBreaker,
): Promise<void> {
  await client.query("UPDATE executions SET scheduled_for = $2, waiting_reason = $3 WHERE id = $1", [
    attempt.executionId,
    breaker.openUntil,
    `circuit breaker open for this host until ${breaker.openUntil.toISOString()}: ${breaker.reason}`,
  ]);
  await boss.complete(DISPATCH_QUEUE, attempt.jobId, null, { db: bossDb(client) });
  await insertDispatchJobs(boss, client, [
    { jobId: uuidv7(), executionId: attempt.executionId, organizationId: attempt.organizationId, runAt: breaker.openUntil },
  ]);
  await notifyDue(client, breaker.openUntil);
}

/** Records what an HTTP attempt produced and acts on the verdict, atomically with the job's completion. */
export async function recordAttemptOutcome(
  pool: Pool,
  boss: PgBoss,
  claimed: ClaimedAttempt & { jobId: string },
  outcome: DeliveryOutcome,
  now = new Date(),
): Promise<AttemptVerdict> {
  const verdict = decideAfterAttempt(outcome, { attempt: claimed.attempt, retries: claimed.task.retries, now });
  await withTransaction(pool, async (client) => {
    await recordTargetOutcome(client, claimed.task.organizationId, claimed.task.url, outcome, { tracked: claimed.breakerTracked, now });
    await settleAttempt(client, boss, claimed, outcome, verdict);
  });
  return verdict;
}

function executionStatusFor(outcome: DeliveryOutcome, verdict: AttemptVerdict): ExecutionStatus {
  if (verdict.kind === "succeeded") return "SUCCEEDED";
  return outcome.kind === "timeout" ? "TIMED_OUT" : "FAILED";
}

async function settleAttempt(
  client: PoolClient,
  boss: PgBoss,
  claimed: { jobId: string; executionId: string; attempt: number; task: TaskRow },
  outcome: DeliveryOutcome,
  verdict: AttemptVerdict,
): Promise<void> {
  const response = outcome.kind === "response" ? outcome : null;
  await client.query(
    `UPDATE executions SET status = $2, finished_at = now(), duration_ms = $3, response_status = $4,
            response_headers = $5, response_body = $6, response_body_truncated = $7, error = $8
     WHERE id = $1`,
    [
      claimed.executionId,
      executionStatusFor(outcome, verdict),
      Math.round(outcome.durationMs),
      response?.status ?? null,
      response ? JSON.stringify(response.headers) : null,
      // PostgreSQL text cannot hold NUL; a binary body is kept readable rather than rejected.
      response ? response.body.replaceAll("\u0000", "\uFFFD") : null,
      response?.bodyTruncated ?? false,
      verdict.kind === "succeeded" ? null : verdict.reason,
    ],
  );
  // Lock the task: a concurrent cancel must either see this outcome or prevent the retry.
  const { rows } = await client.query<{ status: string }>("SELECT status FROM tasks WHERE id = $1 FOR UPDATE", [claimed.task.id]);
  const cancelled = rows[0]?.status === "CANCELLED";
  if (verdict.kind === "retry" && !cancelled) {
    const executionId = uuidv7();
    const runAt = new Date(Date.now() + verdict.delayMs);
    // A retry keeps the task's place in its queue: it is admitted at once, and the slot stays taken.
    await client.query(
      `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, admitted_at, queue, priority)
       SELECT $1, organization_id, task_id, run, $3, 'PENDING', $4, now(), queue, priority FROM executions WHERE id = $2`,
      [executionId, claimed.executionId, claimed.attempt + 1, runAt],
    );
    await client.query("UPDATE tasks SET status = 'SCHEDULED', updated_at = now() WHERE id = $1", [claimed.task.id]);
    await enqueueAttempts(boss, client, [{ executionId, organizationId: claimed.task.organizationId, queue: null, runAt, admitted: true }]);
  } else if (!cancelled && claimed.task.type === "CRON") {
    // A cron task outlives its runs: after a run's final outcome it waits for its next slot (RUNNING while another run is).
    await client.query(
      `UPDATE tasks SET status = CASE WHEN EXISTS (SELECT 1 FROM executions WHERE task_id = $1 AND status = 'RUNNING')
         THEN 'RUNNING'::task_status ELSE 'SCHEDULED'::task_status END, updated_at = now() WHERE id = $1`,
      [claimed.task.id],
    );
  } else if (!cancelled) {
    const status = verdict.kind === "succeeded" ? "SUCCEEDED" : "FAILED";
    await client.query("UPDATE tasks SET status = $2, completed_at = now(), updated_at = now() WHERE id = $1", [claimed.task.id, status]);
  }
  // Callbacks (callbackUrl, onFailureUrl) are CALLBACK tasks, written in this transaction with the outcome they report.
  await scheduleCallbacks(client, boss, { executionId: claimed.executionId, task: claimed.task, verdict, cancelled });
  // The task no longer holds a slot in its queue: let the next one in.
  if (claimed.task.queue !== null && (verdict.kind !== "retry" || cancelled)) await requestAdmission(client);
  await boss.complete(DISPATCH_QUEUE, claimed.jobId, null, { db: bossDb(client) });
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
