/**
 * The failure inbox: tasks whose final status is FAILED, and the ways back.
 *
 * - `retryTasks` / `retryAllFailed` re-run FAILED tasks. A re-run is a new
 *   run of the task (Execution.run + 1) whose attempts count from 1 again
 *   (also in Runlater-Attempt), the first due now; the task is SCHEDULED
 *   again, with its full retry budget (`retries` is per run, as for cron
 *   runs), and its settings unchanged.
 * - `replayExecution` re-sends the request an execution sent as a new
 *   one-off task: the same method, URL, headers, body and timeout, due now,
 *   with no retries, no callbacks and no queue, and `sourceTaskId` naming the
 *   replayed task. The original task and its history are left as they were
 *   (it may have SUCCEEDED: replaying it must not turn it back into a running
 *   task). The replay is recorded like any task, as an execution of its own.
 */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import { type AttemptToEnqueue, enqueueAttempts } from "./dispatch-queue.js";
import { parseIsoDateTime, type TaskSpec } from "./task-input.js";
import { asUuid, insertTasks, TASK_COLUMNS, type TaskRow } from "./tasks.js";

export const MAX_RETRY_IDS = 1000;
const RETRY_ALL_CHUNK = 500;

export interface FailureDependencies {
  pool: Pool;
  boss: PgBoss;
}

export interface FailedTasksFilter {
  queue?: string | null;
  /** Failed at or after (completedAt >= since). */
  since?: string | Date | null;
  /** Failed before (completedAt < until). */
  until?: string | Date | null;
}

/** The Prisma `where` of the failure inbox: FAILED tasks of the organisation, by queue and time of failure. */
export function failedTasksWhere(organizationId: string, filter: FailedTasksFilter) {
  const since = parseTimeBound("since", filter.since);
  const until = parseTimeBound("until", filter.until);
  if (since && until && since.getTime() >= until.getTime()) throw validationError("until", "until must be later than since");
  return {
    organizationId,
    status: "FAILED" as const,
    queue: filter.queue ?? undefined,
    completedAt: since || until ? { gte: since ?? undefined, lt: until ?? undefined } : undefined,
  };
}

function parseTimeBound(field: string, value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const date = parseIsoDateTime(value);
  if (!date) throw validationError(field, `${field} must be an ISO 8601 date-time like "2026-12-01T09:00:00Z"`);
  return date;
}

/**
 * Re-runs FAILED tasks, all or none: an id of another organisation (or none)
 * is 404, a task that is not FAILED is 409, naming the id. Returns the tasks,
 * SCHEDULED, in the order of `ids`.
 */
export async function retryTasks(deps: FailureDependencies, organizationId: string, ids: string[]): Promise<TaskRow[]> {
  if (ids.length === 0) throw validationError("ids", "give at least one task id");
  if (ids.length > MAX_RETRY_IDS) throw validationError("ids", `at most ${MAX_RETRY_IDS} ids at once; got ${ids.length}`);
  const unique = [...new Set(ids.map((id) => asUuid(id)))];
  return withTransaction(deps.pool, async (client) => {
    const locked = await lockTasks(client, organizationId, unique);
    for (const id of unique) {
      const status = locked.get(id);
      if (status === undefined) throw notFound("task", id);
      if (status !== "FAILED") {
        throw new DomainError("CONFLICT", `task ${id} is ${status}; only FAILED tasks can be retried`, { field: "ids" });
      }
    }
    const retried = await rerunLockedTasks(deps.boss, client, unique);
    const byId = new Map(retried.map((task) => [task.id, task]));
    return unique.map((id) => byId.get(id) as TaskRow);
  });
}

/**
 * Re-runs every task of the organisation that is FAILED now (in `queue` when
 * given), in chunks of a few hundred per transaction. Tasks that stop being
 * FAILED meanwhile are skipped. Returns how many were re-run.
 */
export async function retryAllFailed(deps: FailureDependencies, organizationId: string, queue: string | null): Promise<number> {
  const { rows } = await deps.pool.query<{ id: string }>(
    `SELECT id FROM tasks WHERE organization_id = $1 AND status = 'FAILED' AND ($2::text IS NULL OR queue = $2) ORDER BY id`,
    [organizationId, queue],
  );
  let count = 0;
  for (let start = 0; start < rows.length; start += RETRY_ALL_CHUNK) {
    const chunk = rows.slice(start, start + RETRY_ALL_CHUNK).map((row) => row.id);
    count += await withTransaction(deps.pool, async (client) => {
      const locked = await lockTasks(client, organizationId, chunk);
      const stillFailed = chunk.filter((id) => locked.get(id) === "FAILED");
      return (await rerunLockedTasks(deps.boss, client, stillFailed)).length;
    });
  }
  return count;
}

/** Locks the organisation's tasks among `ids` (in id order, so concurrent callers cannot deadlock) and returns their status. */
async function lockTasks(client: PoolClient, organizationId: string, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await client.query<{ id: string; status: string }>(
    "SELECT id, status FROM tasks WHERE organization_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
    [organizationId, ids],
  );
  return new Map(rows.map((row) => [row.id, row.status]));
}

/**
 * Starts a new run of each (locked, FAILED) task: writes the run's first
 * execution and hands it to the dispatcher.
 */
async function rerunLockedTasks(boss: PgBoss, client: PoolClient, ids: string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<TaskRow & { nextRun: number }>(
    `WITH latest AS (
       SELECT t.id AS task_id, COALESCE((SELECT max(run) FROM executions WHERE task_id = t.id), 0) AS run
       FROM tasks t WHERE t.id = ANY($1::uuid[])
     )
     UPDATE tasks SET status = 'SCHEDULED', completed_at = NULL, updated_at = now(), runs = GREATEST(tasks.runs, latest.run + 1)
     FROM latest WHERE tasks.id = latest.task_id
     RETURNING ${TASK_COLUMNS}, latest.run + 1 AS "nextRun"`,
    [ids],
  );
  const now = new Date();
  const attempts: AttemptToEnqueue[] = rows.map((task) => ({
    executionId: uuidv7(),
    organizationId: task.organizationId,
    queue: task.queue,
    runAt: now,
  }));
  await client.query(
    `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for)
     SELECT id, organization_id, task_id, run, 1, 'PENDING', $5
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[]) AS e(id, organization_id, task_id, run)`,
    [
      attempts.map((attempt) => attempt.executionId),
      rows.map((task) => task.organizationId),
      rows.map((task) => task.id),
      rows.map((task) => task.nextRun),
      now,
    ],
  );
  await enqueueAttempts(boss, client, attempts);
  return rows.map(({ nextRun: _run, ...task }) => task as TaskRow);
}

/** Statuses of an execution that sent its request. */
const SENT_STATUSES = new Set(["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT"]);

/**
 * Re-sends the request an execution sent, as a new one-off task (see the
 * header). Returns the id of the replay's execution.
 */
export async function replayExecution(deps: FailureDependencies, organizationId: string, executionId: string): Promise<string> {
  return withTransaction(deps.pool, async (client) => {
    const { rows } = await client.query<{ status: string; task: TaskRow }>(
      `SELECT e.status, row_to_json(t) AS task
       FROM executions e
       JOIN LATERAL (SELECT ${TASK_COLUMNS} FROM tasks WHERE tasks.id = e.task_id) t ON true
       WHERE e.id = $1 AND e.organization_id = $2`,
      [asUuid(executionId, "execution"), organizationId],
    );
    const row = rows[0];
    if (!row) throw notFound("execution", executionId);
    if (!SENT_STATUSES.has(row.status)) {
      throw new DomainError("CONFLICT", `execution ${executionId} is ${row.status}: it sent no request, so there is nothing to replay`);
    }
    const { task } = row;
    const spec: TaskSpec = {
      url: task.url,
      method: task.method,
      headers: task.headers as Record<string, string>,
      body: task.body,
      bodyEncoding: task.bodyEncoding,
      runAt: new Date(),
      retries: 0,
      timeoutMs: task.timeoutMs,
      name: task.name,
      queue: null,
      callbackUrl: null,
      callbackOn: null,
      onFailureUrl: null,
    };
    const [replay] = await insertTasks(client, organizationId, [{ ...spec, sourceTaskId: task.id }]);
    const { rows: executions } = await client.query<{ id: string }>("SELECT id FROM executions WHERE task_id = $1", [
      (replay as TaskRow).id,
    ]);
    return (executions[0] as { id: string }).id;
  });
}
