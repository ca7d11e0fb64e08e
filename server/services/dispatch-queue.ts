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

/**
 * Enqueues the job for an attempt, on `client` so it commits (or not) with the
 * caller's transaction, and wakes the workers when it is due.
 */
export async function enqueueAttempt(boss: PgBoss, client: Queryable, attempt: { executionId: string; runAt: Date }): Promise<void> {
  const data: DispatchJobData = { executionId: attempt.executionId };
  await boss.send(DISPATCH_QUEUE, data, { id: attempt.executionId, startAfter: attempt.runAt, db: bossDb(client) });
  await notifyDue(client, attempt.runAt);
}

/** NOTIFY is transactional: workers hear it only if and when the transaction commits. */
export async function notifyDue(client: Queryable, runAt: Date): Promise<void> {
  await client.query("SELECT pg_notify($1, $2)", [DISPATCH_CHANNEL, String(runAt.getTime())]);
}
