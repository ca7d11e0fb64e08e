/**
 * Tasks: push, cancel, trigger. Shared by GraphQL, REST and the worker.
 *
 * A push writes the task, its first Execution (PENDING) and the pg-boss job
 * for that attempt in one transaction: there is never a task without a job,
 * nor a job without a task.
 */
import { randomFillSync } from "node:crypto";
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import type { Task } from "../generated/prisma/client.js";
import { insertCronTask, triggerCronTask, withdrawPreparedRun } from "./cron-tasks.js";
import { attemptJobId, bossDb, DISPATCH_CHANNEL, DISPATCH_QUEUE, notifyDue } from "./dispatch-queue.js";
import { planPushes } from "./push-policies.js";
import type { PushWriter } from "./push-writer.js";
import { requestAdmission } from "./queues.js";
import { assertCallbackTargetsAllowed, assertTargetUrlAllowed } from "./target-policy.js";
import { limits, parsePushFields, type TaskSpec } from "./task-input.js";

export type TaskStatus = "SCHEDULED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

/** A task row, as the Prisma model types it, so GraphQL can resolve it without refetching. */
export type TaskRow = Task;

export const TASK_COLUMNS = `id, organization_id AS "organizationId", type, name, queue, status, url, method, headers, body,
  body_encoding AS "bodyEncoding", retries, timeout_ms AS "timeoutMs", run_at AS "runAt", attempts, priority,
  cron, timezone, next_run_at AS "nextRunAt", prepared_slot AS "preparedSlot", paused, catch_up AS "catchUp", overlap, runs,
  callback_url AS "callbackUrl", callback_on AS "callbackOn", on_failure_url AS "onFailureUrl",
  source_task_id AS "sourceTaskId", debounce_key AS "debounceKey", throttle_key AS "throttleKey",
  dedupe_hash AS "dedupeHash", created_at AS "createdAt", updated_at AS "updatedAt", completed_at AS "completedAt"`;

export interface TaskDependencies {
  pool: Pool;
  boss: PgBoss;
  config: { allowPrivateTargets: boolean };
  /** Writes plain pushes, many at once under load; without it, each push is its own statement. */
  pushWriter?: PushWriter;
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
  const spec = validatePush(fields, now, deps.config);
  const idempotencyKey = normaliseIdempotencyKey(options.idempotencyKey);
  if (!idempotencyKey && isPlainPush([spec])) {
    const task = deps.pushWriter
      ? await deps.pushWriter.write(organizationId, spec)
      : (await insertTasks(deps.pool, organizationId, [spec]))[0];
    return { task: task as TaskRow, created: true };
  }

  return withTransaction(deps.pool, async (client) => {
    if (idempotencyKey) {
      const existing = await claimIdempotencyKey(client, organizationId, idempotencyKey);
      if (existing) return { task: existing, created: false };
    }
    const [pushed] = await createTasks(deps.boss, client, organizationId, [spec], now);
    const { task } = pushed as PushedTask;
    if (idempotencyKey) {
      await client.query(
        `INSERT INTO idempotency_keys (organization_id, key, task_id) VALUES ($1, $2, $3)
         ON CONFLICT (organization_id, key) DO UPDATE SET task_id = EXCLUDED.task_id, created_at = now()`,
        [organizationId, idempotencyKey, task.id],
      );
    }
    return pushed as PushedTask;
  });
}

/**
 * Pushes that only create one-off tasks (no dedupe, debounce, throttle or
 * schedule) are written by one statement, which is atomic on its own: no
 * transaction, one round trip to the database (the hot path of the API).
 */
export function isPlainPush(specs: TaskSpec[]): boolean {
  return specs.every((spec) => !spec.schedule && !spec.dedupe && !spec.debounce && !spec.throttle);
}

/** Turns one push's fields into a TaskSpec, or throws a DomainError naming the field. Shared with batch push. */
export function validatePush(fields: Record<string, unknown>, now: Date, config: { allowPrivateTargets: boolean }): TaskSpec {
  const spec = parsePushFields(fields, now);
  assertTargetUrlAllowed(spec.url, { allowPrivateTargets: config.allowPrivateTargets });
  assertCallbackTargetsAllowed(spec, { allowPrivateTargets: config.allowPrivateTargets });
  return spec;
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

/** A push's answer: the task, and whether this push created it (false: dedupe, throttle or debounce matched). */
export interface PushedTask {
  task: TaskRow;
  created: boolean;
}

/**
 * Creates the tasks of validated pushes, or resolves them to existing tasks by
 * their dedupe, throttle or debounce rule (push-policies.ts). Answers in push
 * order. Runs on `client`, inside the caller's transaction.
 */
export async function createTasks(
  boss: PgBoss,
  client: PoolClient,
  organizationId: string,
  specs: TaskSpec[],
  now = new Date(),
): Promise<PushedTask[]> {
  const plan = await planPushes(boss, client, organizationId, specs);
  const created: TaskRow[] = [];
  const oneOff = plan.toCreate.flatMap((spec, index) => (spec.schedule ? [] : [index]));
  const inserted = await insertTasks(
    client,
    organizationId,
    oneOff.map((index) => plan.toCreate[index] as TaskSpec),
  );
  oneOff.forEach((index, position) => {
    created[index] = inserted[position] as TaskRow;
  });
  for (const [index, spec] of plan.toCreate.entries()) {
    if (spec.schedule) created[index] = await insertCronTask(client, organizationId, spec, now);
  }
  const existingIds = plan.outcomes.flatMap((outcome) => (outcome.kind === "existing" ? [outcome.taskId] : []));
  const existing = new Map<string, TaskRow>();
  if (existingIds.length > 0) {
    const { rows } = await client.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::uuid[])`, [existingIds]);
    for (const row of rows) existing.set(row.id, row);
  }
  // A batch may name one new task twice (a repeated dedupe hash or key): only its first push created it.
  const answered = new Set<number>();
  return plan.outcomes.map((outcome) => {
    if (outcome.kind === "existing") return { task: existing.get(outcome.taskId) as TaskRow, created: false };
    const first = !answered.has(outcome.index);
    answered.add(outcome.index);
    return { task: created[outcome.index] as TaskRow, created: first };
  });
}

const v7State = { msecs: 0, seq: 0 };

/**
 * `count` UUIDv7s in increasing order (ids sort as the tasks were given), from
 * one read of random bytes: uuid's own v7 reads them once per id, which costs
 * more than the rest of the id when a batch needs thousands.
 */
function orderedUuidv7s(count: number): string[] {
  const random = randomFillSync(new Uint8Array(count * 16));
  const ids: string[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const bytes = random.subarray(index * 16, index * 16 + 16);
    const now = Date.now();
    if (now > v7State.msecs) {
      v7State.msecs = now;
      // A random start in the lower half leaves room to count up within the millisecond.
      v7State.seq =
        (((bytes[6] as number) & 0x3f) << 24) | ((bytes[7] as number) << 16) | ((bytes[8] as number) << 8) | (bytes[9] as number);
    } else {
      v7State.seq = (v7State.seq + 1) | 0;
      if (v7State.seq === 0) v7State.msecs++;
    }
    ids[index] = uuidv7({ msecs: v7State.msecs, seq: v7State.seq, random: bytes });
  }
  return ids;
}

/** Columns of tasks Runlater creates itself (callbacks, replays), beyond the push fields. */
export interface TaskOrigin {
  /** Default ONE_OFF. */
  type?: "ONE_OFF" | "CRON" | "CALLBACK";
  /** For CALLBACK tasks and replays: the task this one is about. */
  sourceTaskId?: string | null;
}

export type TaskToInsert = TaskSpec & TaskOrigin;

interface InsertedColumn {
  name: string;
  /** The column's field in TaskRow. */
  field: keyof TaskRow;
  /** The SQL type of the column's array parameter. */
  type: string;
  value(task: TaskToInsert): unknown;
}

/** What insertTasks writes besides ids and the organisation: one line per column, one array parameter each. */
const INSERTED_TASK_COLUMNS: InsertedColumn[] = [
  { name: "type", field: "type", type: "task_type", value: (task) => task.type ?? "ONE_OFF" },
  { name: "name", field: "name", type: "text", value: (task) => task.name },
  { name: "queue", field: "queue", type: "text", value: (task) => task.queue },
  { name: "url", field: "url", type: "text", value: (task) => task.url },
  { name: "method", field: "method", type: "http_method", value: (task) => task.method },
  { name: "headers", field: "headers", type: "jsonb", value: (task) => task.headers },
  { name: "body", field: "body", type: "text", value: (task) => task.body },
  { name: "body_encoding", field: "bodyEncoding", type: "body_encoding", value: (task) => task.bodyEncoding },
  { name: "retries", field: "retries", type: "int4", value: (task) => task.retries },
  { name: "timeout_ms", field: "timeoutMs", type: "int4", value: (task) => task.timeoutMs },
  { name: "run_at", field: "runAt", type: "timestamptz", value: (task) => task.runAt },
  { name: "priority", field: "priority", type: "int4", value: (task) => task.priority ?? 0 },
  { name: "callback_url", field: "callbackUrl", type: "text", value: (task) => task.callbackUrl ?? null },
  { name: "callback_on", field: "callbackOn", type: "callback_on", value: (task) => task.callbackOn ?? null },
  { name: "on_failure_url", field: "onFailureUrl", type: "text", value: (task) => task.onFailureUrl ?? null },
  { name: "source_task_id", field: "sourceTaskId", type: "uuid", value: (task) => task.sourceTaskId ?? null },
  { name: "debounce_key", field: "debounceKey", type: "text", value: (task) => task.debounce?.key ?? null },
  { name: "throttle_key", field: "throttleKey", type: "text", value: (task) => task.throttle?.key ?? null },
  { name: "dedupe_hash", field: "dedupeHash", type: "text", value: (task) => task.dedupe?.hash ?? null },
];

/** The columns' database defaults, for the rows insertTasks answers without reading them back. */
const NEW_TASK_DEFAULTS = {
  status: "SCHEDULED",
  attempts: 0,
  cron: null,
  timezone: null,
  nextRunAt: null,
  preparedSlot: null,
  paused: false,
  catchUp: "SKIP",
  overlap: "ALLOW",
  runs: 0,
  completedAt: null,
} satisfies Partial<TaskRow>;

const columnNames = INSERTED_TASK_COLUMNS.map((column) => column.name).join(", ");

/**
 * One statement writes tasks, their first attempts (PENDING executions, not
 * yet admitted: workers create their pg-boss jobs in admission passes, see
 * dispatch-queue.ts) and the queues met for the first time, and wakes the
 * workers (NOTIFY is transactional: heard only once the statement commits).
 * Attempts of a named queue carry its name and the task's priority, which
 * admission reads from one index in order.
 *
 * Every push notifies in its own transaction: a wake-up or live event is
 * never lost to a crash between a commit and a later announcement. PostgreSQL
 * holds its notification lock from a NOTIFY until the commit is flushed, so
 * notifying statements commit one at a time; under load, group commit
 * (push-writer.ts) makes each of them carry many pushes.
 *
 * $1 is the organisation, $2 the task ids, $3 the first executions' ids, $4 the dispatch channel and $5 the earliest
 * due time (epoch ms) it announces; then one array per column. It answers only the statement's time
 * (created_at, rounded as the column rounds it): the rest is known. The queue part is left out when no task names a
 * queue, as an INSERT of no rows still runs the queues' statement trigger.
 */
function insertTasksSql(options: { withQueues: boolean }): string {
  const parameters = INSERTED_TASK_COLUMNS.map((column, index) => `$${index + 6}::${column.type}[]`).join(", ");
  return `WITH input AS (
    SELECT * FROM unnest($2::uuid[], $3::uuid[], ${parameters}) AS input(id, execution_id, ${columnNames})
  ), task AS (
    INSERT INTO tasks (id, organization_id, ${columnNames}) SELECT id, $1, ${columnNames} FROM input
  ), execution AS (
    INSERT INTO executions (id, organization_id, task_id, attempt, status, scheduled_for, queue, priority)
    SELECT execution_id, $1, id, 1, 'PENDING', run_at, queue, CASE WHEN queue IS NULL THEN 0 ELSE priority END FROM input
  )${
    options.withQueues
      ? `, queue AS (
    INSERT INTO queues (id, organization_id, name)
    SELECT gen_random_uuid(), $1, name FROM (SELECT DISTINCT queue FROM input WHERE queue IS NOT NULL) AS named(name)
    ON CONFLICT (organization_id, name) DO NOTHING
  )`
      : ""
  }
  SELECT now()::timestamptz(3) AS "createdAt", pg_notify($4, $5)`;
}
const INSERT_TASKS_SQL = { withQueues: insertTasksSql({ withQueues: true }), withoutQueues: insertTasksSql({ withQueues: false }) };

/**
 * Writes tasks and hands their first attempts to the dispatcher in one
 * statement: the cost of a push barely grows with the number of tasks, and a
 * push outside a transaction is one round trip. Returns the tasks in the
 * order given. Atomic on its own; inside a transaction when `db` is a client
 * in one.
 */
export async function insertTasks(db: Queryable, organizationId: string, tasks: TaskToInsert[]): Promise<TaskRow[]> {
  if (tasks.length === 0) return [];
  const { taskIds, ...query } = insertTasksQuery(organizationId, tasks);
  const { rows } = await db.query<{ createdAt: Date }>(query);
  const createdAt = (rows[0] as { createdAt: Date }).createdAt;
  return tasks.map((task, index) => {
    const row: Record<string, unknown> = { id: taskIds[index], organizationId, ...NEW_TASK_DEFAULTS, createdAt, updatedAt: createdAt };
    for (const column of INSERTED_TASK_COLUMNS) row[column.field] = column.value(task);
    return row as unknown as TaskRow;
  });
}

/**
 * The statement insertTasks runs for `tasks` (non-empty), with the ids it gives them; named, so each connection
 * prepares each of its two texts once. Exported for bench/query-plans.ts.
 */
export function insertTasksQuery(
  organizationId: string,
  tasks: TaskToInsert[],
): { name: string; text: string; values: unknown[]; taskIds: string[] } {
  const ids = orderedUuidv7s(tasks.length * 2);
  const taskIds = ids.slice(0, tasks.length);
  const executionIds = ids.slice(tasks.length);
  const earliest = Math.min(...tasks.map((task) => task.runAt.getTime()));
  const withQueues = tasks.some((task) => task.queue !== null);
  return {
    name: withQueues ? "runlater-insert-tasks-with-queues" : "runlater-insert-tasks",
    text: withQueues ? INSERT_TASKS_SQL.withQueues : INSERT_TASKS_SQL.withoutQueues,
    values: [
      organizationId,
      taskIds,
      executionIds,
      DISPATCH_CHANNEL,
      String(earliest),
      ...INSERTED_TASK_COLUMNS.map((column) =>
        tasks.map((task) => (column.type === "jsonb" ? JSON.stringify(column.value(task)) : column.value(task))),
      ),
    ],
    taskIds,
  };
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
    // A cron run created ahead of a slot still to come was never due: it goes, rather than being shown cancelled.
    if (task.type === "CRON") await withdrawPreparedRun(deps.boss, client, task.id);
    const { rows: pending } = await client.query<{ jobId: string }>(
      `UPDATE executions SET status = 'CANCELLED', finished_at = now(), error = 'cancelled before it ran'
       WHERE task_id = $1 AND status = 'PENDING' RETURNING ${attemptJobId()} AS "jobId"`,
      [task.id],
    );
    if (pending.length > 0) {
      await deps.boss.cancel(
        DISPATCH_QUEUE,
        pending.map((execution) => execution.jobId),
        { db: bossDb(client) },
      );
    }
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET status = 'CANCELLED', next_run_at = NULL, prepared_slot = NULL, completed_at = now(), updated_at = now()
       WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [task.id],
    );
    // A cancelled task gives up its queue slot.
    if (task.queue !== null) await requestAdmission(client);
    return rows[0] as TaskRow;
  });
}

/** Runs a scheduled task's pending attempt now instead of at its due time. */
export async function triggerTask(deps: TaskDependencies, organizationId: string, taskId: string): Promise<TaskRow> {
  return withTransaction(deps.pool, async (client) => {
    const task = await lockTask(client, organizationId, taskId);
    if (task.type === "CRON") return triggerCronTask(deps.boss, client, task);
    if (task.status !== "SCHEDULED") {
      throw new DomainError("CONFLICT", `task ${taskId} is ${task.status}; only a SCHEDULED task can be triggered`);
    }
    const now = new Date();
    // An attempt waiting for an open circuit breaker moves too: if the breaker has closed meanwhile it runs now,
    // otherwise its claim defers it again to the breaker's end (its job and due time then agree once more).
    const { rows: pending } = await client.query<{ jobId: string }>(
      `UPDATE executions SET scheduled_for = $2 WHERE task_id = $1 AND status = 'PENDING' RETURNING ${attemptJobId()} AS "jobId"`,
      [task.id, now],
    );
    for (const execution of pending) {
      await deps.boss.update(DISPATCH_QUEUE, undefined, { id: execution.jobId, startAfter: now, db: bossDb(client) });
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

/**
 * A malformed id can name nothing: 404, as for an id of another organisation. A well-formed one comes back in
 * PostgreSQL's own spelling (lower case), so that it compares equal to ids read from the database: a subscription
 * to taskUpdated(id) with the id in capitals found the task and then never matched its events.
 */
export function asUuid(id: string, what = "task"): string {
  if (!UUID.test(id)) throw notFound(what, id);
  return id.toLowerCase();
}

/** An id given to narrow a list: malformed, it is bad input (422 naming `field`), not an id of nothing. */
export function uuidFilter(id: string, field: string): string {
  if (!UUID.test(id)) throw validationError(field, `${field} must be an id (a UUID), got ${JSON.stringify(id.slice(0, 80))}`);
  return id.toLowerCase();
}

/**
 * Cancels every task of a queue that has not started (the queue's backlog);
 * tasks with an attempt in flight, or waiting for a retry, are left to
 * finish. Returns the count.
 */
export async function cancelQueuedTasks(deps: TaskDependencies, organizationId: string, queue: string): Promise<number> {
  return withTransaction(deps.pool, async (client) => {
    const { rows: tasks } = await client.query<{ id: string }>(
      // attempts = 0: a task between retries is SCHEDULED again, but it has started; it keeps its place.
      `UPDATE tasks SET status = 'CANCELLED', completed_at = now(), updated_at = now()
       WHERE organization_id = $1 AND queue = $2 AND status = 'SCHEDULED' AND attempts = 0 RETURNING id`,
      [organizationId, queue],
    );
    if (tasks.length === 0) return 0;
    const { rows: pending } = await client.query<{ jobId: string; admitted: boolean }>(
      `UPDATE executions SET status = 'CANCELLED', finished_at = now(), error = 'cancelled before it ran'
       WHERE task_id = ANY($1::uuid[]) AND status = 'PENDING' RETURNING ${attemptJobId()} AS "jobId", admitted_at IS NOT NULL AS admitted`,
      [tasks.map((task) => task.id)],
    );
    const jobIds = pending.filter((execution) => execution.admitted).map((execution) => execution.jobId);
    if (jobIds.length > 0) await deps.boss.cancel(DISPATCH_QUEUE, jobIds, { db: bossDb(client) });
    await requestAdmission(client);
    return tasks.length;
  });
}
