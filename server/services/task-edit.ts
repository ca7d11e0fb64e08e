/**
 * Editing a one-off task before it starts: its request (URL, method,
 * headers, body), label, delivery options and due time. Only a task whose
 * first attempt is still PENDING can change; once an attempt has started, the
 * request it sent is history, and a changed request is a new task (duplicate
 * it). The queue and callbacks are fixed at push time: they decide where the
 * task waits and who hears about it.
 */
import { withTransaction } from "../db/pool.js";
import { DomainError, notFound } from "../errors.js";
import { attemptJobId, notifyDue } from "./dispatch-queue.js";
import { replacePendingRequest } from "./push-policies.js";
import { type BodyEncoding, contentHash } from "./task-input.js";
import { asUuid, getTask, type TaskDependencies, type TaskRow, validatePush } from "./tasks.js";

/** What an edit may change; omitted (or null) fields keep their value. */
export interface TaskEdit {
  url?: string | null;
  method?: string | null;
  headers?: Record<string, unknown> | null;
  body?: unknown;
  bodyBase64?: string | null;
  name?: string | null;
  retries?: number | null;
  timeoutMs?: number | null;
  priority?: number | null;
  /** A new due time, from now ("30s", "5m"…) or as a date-time; without either the due time stays. */
  delay?: string | number | null;
  runAt?: string | Date | null;
}

interface EditableTask {
  /** Pushed with `dedupe`: found again by the hash of what it sends. */
  deduplicated: boolean;
  executionId: string | null;
  jobId: string | null;
  admitted: boolean | null;
  type: string;
  status: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  bodyEncoding: BodyEncoding | null;
  name: string | null;
  retries: number;
  timeoutMs: number;
  priority: number;
  runAt: Date;
}

export async function editPendingTask(
  deps: TaskDependencies,
  organizationId: string,
  taskId: string,
  edit: TaskEdit,
  now: Date = new Date(),
): Promise<TaskRow> {
  const id = asUuid(taskId);
  return withTransaction(deps.pool, async (client) => {
    // The pending attempt is locked before its task, the order a worker's claim takes, so it cannot start meanwhile.
    const { rows } = await client.query<EditableTask>(
      `SELECT e.id AS "executionId", ${attemptJobId("e")} AS "jobId", e.admitted_at IS NOT NULL AS admitted, t.type, t.status, t.url, t.method, t.headers, t.body,
         t.body_encoding AS "bodyEncoding", t.name, t.retries, t.timeout_ms AS "timeoutMs", t.priority, t.run_at AS "runAt",
         t.dedupe_hash IS NOT NULL AS deduplicated
       FROM tasks t
       LEFT JOIN executions e ON e.task_id = t.id AND e.status = 'PENDING' AND e.run = 1 AND e.attempt = 1
       WHERE t.id = $1 AND t.organization_id = $2
       FOR UPDATE OF t`,
      [id, organizationId],
    );
    const task = rows[0];
    if (!task) throw notFound("task", taskId);
    if (task.type !== "ONE_OFF" || task.status !== "SCHEDULED" || !task.executionId) {
      throw new DomainError(
        "CONFLICT",
        task.type === "CRON"
          ? "a cron task's request is fixed; change its schedule with updateTaskSchedule, or duplicate it"
          : `only a one-off task that has not started can be edited (this one is ${task.status}); duplicate it instead`,
        { field: "id" },
      );
    }

    const retimed = (edit.delay ?? null) !== null || (edit.runAt ?? null) !== null;
    const body = editedBody(edit, task);
    const spec = validatePush(
      {
        url: edit.url ?? task.url,
        method: edit.method ?? task.method,
        headers: edit.headers ?? task.headers,
        ...body,
        name: edit.name ?? task.name ?? undefined,
        retries: edit.retries ?? task.retries,
        timeoutMs: edit.timeoutMs ?? task.timeoutMs,
        priority: edit.priority ?? task.priority,
        ...(retimed ? { delay: edit.delay ?? undefined, runAt: edit.runAt ?? undefined } : {}),
      },
      now,
      deps.config,
    );
    if (!retimed) spec.runAt = task.runAt;

    const replaced = await replacePendingRequest(
      deps.boss,
      client,
      { taskId: id, executionId: task.executionId, jobId: task.jobId as string, admitted: !!task.admitted },
      spec,
    );
    if (!replaced) throw new DomainError("CONFLICT", "the task is starting; it can no longer be edited", { field: "id" });
    if (task.deduplicated) {
      // A task pushed with `dedupe` is found again by the hash of what it sends: after an edit, that is the new request
      // (a push of the old one must create a task that sends it; a push of the new one finds this task).
      await client.query("UPDATE tasks SET dedupe_hash = $2 WHERE id = $1", [
        id,
        contentHash(spec.method, spec.url, body.body, body.bodyBase64),
      ]);
    }
    if (retimed) await notifyDue(client, spec.runAt);
    return getTask(client, organizationId, id);
  });
}

/** The body fields of the edited push: the edit's body or bodyBase64, or the stored body as a push would give it. */
function editedBody(edit: TaskEdit, task: EditableTask): { body?: unknown; bodyBase64?: string } {
  if ((edit.body ?? null) !== null || (edit.bodyBase64 ?? null) !== null)
    return { body: edit.body, bodyBase64: edit.bodyBase64 ?? undefined };
  if (task.body === null) return {};
  if (task.bodyEncoding === "BASE64") return { bodyBase64: task.body };
  return { body: task.bodyEncoding === "JSON" ? JSON.parse(task.body) : task.body };
}
