/**
 * Tasks: push, cancel, trigger. Shared by GraphQL, REST and the worker.
 *
 * A push writes the task, its first Execution (PENDING) and the pg-boss job
 * for that attempt in one transaction: there is never a task without a job,
 * nor a job without a task.
 */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, notFound } from "../errors.js";
import type { Task } from "../generated/prisma/client.js";
import { bossDb, DISPATCH_QUEUE, enqueueAttempts, initialAdmittedAt, notifyDue } from "./dispatch-queue.js";
import { assertTargetUrlAllowed } from "./target-policy.js";
import { limits, parsePushFields, type TaskSpec } from "./task-input.js";

export type TaskStatus = "SCHEDULED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

/** A task row, as the Prisma model types it, so GraphQL can resolve it without refetching. */
export type TaskRow = Task;

export const TASK_COLUMNS = `id, organization_id AS "organizationId", type, name, queue, status, url, method, headers, body,
  body_encoding AS "bodyEncoding", retries, timeout_ms AS "timeoutMs", run_at AS "runAt", attempts, priority,
  cron, timezone, next_run_at AS "nextRunAt", paused, catch_up AS "catchUp", overlap, runs,
  callback_url AS "callbackUrl", callback_on AS "callbackOn", on_failure_url AS "onFailureUrl",
  source_task_id AS "sourceTaskId", debounce_key AS "debounceKey", throttle_key AS "throttleKey",
  dedupe_hash AS "dedupeHash", created_at AS "createdAt", updated_at AS "updatedAt", completed_at AS "completedAt"`;

export interface TaskDependencies {
  pool: Pool;
  boss: PgBoss;
  config: { allowPrivateTargets: boolean };
}

export interface PushTaskOptions {
  /** From the Idempotency-Key header: a repeat within 24 h returns the first task. */
  idempotencyKey?: string | null;
  now?: Date;
}

const IDEMPOTENCY_WINDOW = "24 hours";

export async function pushTask(
  deps: TaskDependencies,
  organizationId: string,
  fields: Record<string, unknown>,
  options: PushTaskOptions = {},
): Promise<{ task: TaskRow; created: boolean }> {
  const now = options.now ?? new Date();
  const spec = parsePushFields(fields, now);
  assertTargetUrlAllowed(spec.url, { allowPrivateTargets: deps.config.allowPrivateTargets });
  const idempotencyKey = normaliseIdempotencyKey(options.idempotencyKey);

  return withTransaction(deps.pool, async (client) => {
    if (idempotencyKey) {
      const existing = await claimIdempotencyKey(client, organizationId, idempotencyKey);
      if (existing) return { task: existing, created: false };
    }
    const task = await insertTaskWithFirstAttempt(deps.boss, client, organizationId, spec);
    if (idempotencyKey) {
      await client.query(
        `INSERT INTO idempotency_keys (organization_id, key, task_id) VALUES ($1, $2, $3)
         ON CONFLICT (organization_id, key) DO UPDATE SET task_id = EXCLUDED.task_id, created_at = now()`,
        [organizationId, idempotencyKey, task.id],
      );
    }
    return { task, created: true };
  });
}

function normaliseIdempotencyKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  const trimmed = key.trim();
  if (!trimmed || trimmed.length > limits.maxIdempotencyKeyLength) {
    throw new DomainError("VALIDATION_FAILED", `Idempotency-Key must be 1 to ${limits.maxIdempotencyKeyLength} characters`, {
      field: "idempotencyKey",
    });
  }
  return trimmed;
}

/**
 * Takes the key's lock for this transaction. A concurrent request holding it is
 * still in flight: 409. Returns the task of an earlier push within the window.
 */
async function claimIdempotencyKey(client: PoolClient, organizationId: string, key: string): Promise<TaskRow | null> {
  const { rows: lock } = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0)) AS locked",
    [organizationId, key],
  );
  if (!lock[0]?.locked) {
    throw new DomainError("IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is still in progress; retry shortly", {
      field: "idempotencyKey",
    });
  }
  const { rows } = await client.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = (
       SELECT task_id FROM idempotency_keys
       WHERE organization_id = $1 AND key = $2 AND created_at > now() - interval '${IDEMPOTENCY_WINDOW}')`,
    [organizationId, key],
  );
  return rows[0] ?? null;
}

async function insertTaskWithFirstAttempt(boss: PgBoss, client: PoolClient, organizationId: string, spec: TaskSpec): Promise<TaskRow> {
  const taskId = uuidv7();
  const executionId = uuidv7();
  // One statement writes both rows: a round trip saved on the push hot path.
  const { rows } = await client.query<TaskRow>(
    `WITH task AS (
       INSERT INTO tasks (id, organization_id, name, queue, url, method, headers, body, body_encoding, retries, timeout_ms, run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       RETURNING ${TASK_COLUMNS}
     ), execution AS (
       INSERT INTO executions (id, organization_id, task_id, attempt, status, scheduled_for, admitted_at)
       VALUES ($13, $2, $1, 1, 'PENDING', $12, $14)
     )
     SELECT * FROM task`,
    [
      taskId,
      organizationId,
      spec.name,
      spec.queue,
      spec.url,
      spec.method,
      JSON.stringify(spec.headers),
      spec.body,
      spec.bodyEncoding,
      spec.retries,
      spec.timeoutMs,
      spec.runAt,
      executionId,
      initialAdmittedAt(spec.queue, new Date()),
    ],
  );
  await enqueueAttempts(boss, client, [{ executionId, organizationId, queue: spec.queue, runAt: spec.runAt }]);
  return rows[0] as TaskRow;
}

export async function getTask(db: Queryable, organizationId: string, taskId: string): Promise<TaskRow> {
  const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND organization_id = $2`, [
    asUuid(taskId),
    organizationId,
  ]);
  if (!rows[0]) throw notFound("task", taskId);
  return rows[0];
}

/** Locks the task row for the rest of the transaction; 404 for another organisation's task. */
async function lockTask(client: PoolClient, organizationId: string, taskId: string): Promise<TaskRow> {
  const { rows } = await client.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND organization_id = $2 FOR UPDATE`, [
    asUuid(taskId),
    organizationId,
  ]);
  if (!rows[0]) throw notFound("task", taskId);
  return rows[0];
}

/**
 * Cancels a task that has not finished: its pending attempt never runs. An
 * attempt already in flight completes, but nothing is retried after it.
 */
export async function cancelTask(deps: TaskDependencies, organizationId: string, taskId: string): Promise<TaskRow> {
  return withTransaction(deps.pool, async (client) => {
    const task = await lockTask(client, organizationId, taskId);
    if (task.status === "CANCELLED") return task;
    if (task.status === "SUCCEEDED" || task.status === "FAILED") {
      throw new DomainError("CONFLICT", `task ${taskId} has already finished (${task.status}) and cannot be cancelled`);
    }
    const { rows: pending } = await client.query<{ id: string }>(
      `UPDATE executions SET status = 'CANCELLED', finished_at = now(), error = 'cancelled before it ran'
       WHERE task_id = $1 AND status = 'PENDING' RETURNING id`,
      [task.id],
    );
    if (pending.length > 0) {
      await deps.boss.cancel(
        DISPATCH_QUEUE,
        pending.map((execution) => execution.id),
        { db: bossDb(client) },
      );
    }
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET status = 'CANCELLED', completed_at = now(), updated_at = now() WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [task.id],
    );
    return rows[0] as TaskRow;
  });
}

/** Runs a scheduled task's pending attempt now instead of at its due time. */
export async function triggerTask(deps: TaskDependencies, organizationId: string, taskId: string): Promise<TaskRow> {
  return withTransaction(deps.pool, async (client) => {
    const task = await lockTask(client, organizationId, taskId);
    if (task.status !== "SCHEDULED") {
      throw new DomainError("CONFLICT", `task ${taskId} is ${task.status}; only a SCHEDULED task can be triggered`);
    }
    const now = new Date();
    const { rows: pending } = await client.query<{ id: string }>(
      `UPDATE executions SET scheduled_for = $2 WHERE task_id = $1 AND status = 'PENDING' RETURNING id`,
      [task.id, now],
    );
    for (const execution of pending) {
      await deps.boss.update(DISPATCH_QUEUE, undefined, { id: execution.id, startAfter: now, db: bossDb(client) });
    }
    await notifyDue(client, now);
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET run_at = $2, updated_at = now() WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [task.id, now],
    );
    return rows[0] as TaskRow;
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id can name nothing: 404, as for an id of another organisation. */
export function asUuid(id: string, what = "task"): string {
  if (!UUID.test(id)) throw notFound(what, id);
  return id;
}
