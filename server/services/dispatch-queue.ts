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

/** Lets pg-boss run its statements on our connection, inside our transaction. */
export function bossDb(client: Queryable): Db {
  return { executeSql: (text, values) => client.query(text, values as unknown[]) };
}

export async function ensureDispatchQueue(boss: PgBoss, options: { heartbeatSeconds: number }): Promise<void> {
  const queue = await boss.getQueue(DISPATCH_QUEUE);
  const settings = {
    // Attempts last at most 5 minutes (the largest timeoutMs); the heartbeat finds crashed workers sooner.
    expireInSeconds: 15 * 60,
    heartbeatSeconds: options.heartbeatSeconds,
    // Only used to recover jobs of crashed workers; each recovery is recorded as a failed attempt.
    retryLimit: 100,
    retryDelay: 0,
    deleteAfterSeconds: 24 * 3600,
  };
  if (!queue) {
    await boss.createQueue(DISPATCH_QUEUE, settings);
  }
}

/** A PENDING execution whose row is written, ready to be handed to the dispatcher. */
export interface AttemptToEnqueue {
  executionId: string;
  organizationId: string;
  /** The task's queue: attempts of a named queue wait for the queue to admit them. */
  queue: string | null;
  runAt: Date;
}

/**
 * The `admitted_at` an execution row is inserted with: now for attempts that
 * are enqueued at once, null for those that wait for their queue's admission.
 */
export function initialAdmittedAt(queue: string | null, now: Date): Date | null {
  return queue === null ? now : null;
}

/**
 * Hands attempts (whose execution rows are written, with `initialAdmittedAt`)
 * to the dispatcher, on `client` so it all commits or not with the caller's
 * transaction: one pg-boss job per admitted attempt, in one statement, and a
 * NOTIFY that wakes the workers when the earliest is due.
 */
export async function enqueueAttempts(boss: PgBoss, client: Queryable, attempts: AttemptToEnqueue[]): Promise<void> {
  if (attempts.length === 0) return;
  const admitted = attempts.filter((attempt) => attempt.queue === null);
  if (admitted.length > 0) {
    await boss.insert(
      DISPATCH_QUEUE,
      admitted.map((attempt) => ({
        id: attempt.executionId,
        data: { executionId: attempt.executionId } satisfies DispatchJobData,
        startAfter: attempt.runAt,
      })),
      { db: bossDb(client) },
    );
  }
  const earliest = Math.min(...attempts.map((attempt) => attempt.runAt.getTime()));
  await notifyDue(client, new Date(earliest));
}

/** NOTIFY is transactional: workers hear it only if and when the transaction commits. */
export async function notifyDue(client: Queryable, runAt: Date): Promise<void> {
  await client.query("SELECT pg_notify($1, $2)", [DISPATCH_CHANNEL, String(runAt.getTime())]);
}
