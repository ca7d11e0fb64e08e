/**
 * Batch push: up to MAX_BATCH_TASKS tasks in one request, each merged over
 * shared defaults, created all together or not at all.
 *
 * Every task is validated before anything is written; the first invalid one
 * fails the batch with an error naming it (`tasks[3].url`, or `defaults.retries`
 * when the bad value came from the defaults). Then the tasks and their first
 * attempts are written in one statement (plain pushes), or in one transaction
 * of a handful of statements (with push policies or cron schedules), whatever
 * the batch's size.
 */
import { withTransaction } from "../db/pool.js";
import { DomainError, validationError } from "../errors.js";
import type { TaskSpec } from "./task-input.js";
import { createTasks, insertTasks, isPlainPush, type PushedTask, type TaskDependencies, validatePush } from "./tasks.js";

export const MAX_BATCH_TASKS = 1000;

type Fields = Record<string, unknown>;

export async function pushTasks(
  deps: TaskDependencies,
  organizationId: string,
  tasks: ReadonlyArray<Fields | null | undefined>,
  defaults?: Fields | null,
  options: { now?: Date } = {},
): Promise<PushedTask[]> {
  const now = options.now ?? new Date();
  const specs = validatePushBatch(tasks, defaults ?? {}, now, deps.config);
  if (isPlainPush(specs)) {
    const created = await insertTasks(deps.pool, organizationId, specs);
    return created.map((task) => ({ task, created: true }));
  }
  return withTransaction(deps.pool, (client) => createTasks(deps.boss, client, organizationId, specs, now));
}

/** Validates every task of a batch (merged over the defaults); throws for the first invalid one. */
export function validatePushBatch(
  tasks: ReadonlyArray<Fields | null | undefined>,
  defaults: Fields,
  now: Date,
  config: { allowPrivateTargets: boolean },
): TaskSpec[] {
  if (tasks.length === 0) throw validationError("tasks", "tasks must hold at least one task");
  if (tasks.length > MAX_BATCH_TASKS) {
    throw validationError("tasks", `a batch holds at most ${MAX_BATCH_TASKS} tasks; got ${tasks.length}. Split it into several requests`);
  }
  const shared = withoutNulls(defaults);
  const specs: TaskSpec[] = new Array(tasks.length);
  for (let index = 0; index < tasks.length; index++) {
    const task = tasks[index];
    if (task === null || typeof task !== "object" || Array.isArray(task)) {
      throw validationError(`tasks[${index}]`, `tasks[${index}] must be an object of push fields`);
    }
    const own = withoutNulls(task);
    try {
      specs[index] = validatePush(mergeOverDefaults(own, shared), now, config);
    } catch (error) {
      if (error instanceof DomainError) throw namingTheTask(error, index, own, shared);
      throw error;
    }
  }
  return specs;
}

/**
 * A task's own fields win over the defaults'. Headers are merged by name (case
 * insensitively); a task giving delay, runAt or debounceKey replaces the
 * defaults' timing, and one giving body or bodyBase64 the defaults' body.
 */
function mergeOverDefaults(own: Fields, shared: Fields): Fields {
  const merged = { ...shared, ...own };
  if ("body" in own && !("bodyBase64" in own)) delete merged.bodyBase64;
  if ("bodyBase64" in own && !("body" in own)) delete merged.body;
  // A debounced task's timing is its window.
  if ("delay" in own || "runAt" in own || "debounceKey" in own) {
    if (!("delay" in own)) delete merged.delay;
    if (!("runAt" in own)) delete merged.runAt;
  }
  if (isObject(shared.headers) && isObject(own.headers)) {
    const overridden = new Set(Object.keys(own.headers).map((name) => name.toLowerCase()));
    merged.headers = {
      ...Object.fromEntries(Object.entries(shared.headers).filter(([name]) => !overridden.has(name.toLowerCase()))),
      ...own.headers,
    };
  }
  return merged;
}

/** The same error, with its field prefixed by where the bad value came from: the task or the defaults. */
function namingTheTask(error: DomainError, index: number, own: Fields, shared: Fields): DomainError {
  const field = error.field ?? "";
  const [root = "", header] = field.split(/\.(.*)/s);
  const fromTask =
    root === "headers" && header !== undefined
      ? !(isObject(shared.headers) && header in shared.headers) || (isObject(own.headers) && header in own.headers)
      : root === "" || root in own || !(root in shared);
  const where = fromTask ? `tasks[${index}]` : "defaults";
  return new DomainError(error.code, `${fromTask ? where : `defaults (in tasks[${index}])`}: ${error.message}`, {
    field: field ? `${where}.${field}` : where,
    cause: error,
  });
}

function withoutNulls(fields: Fields): Fields {
  const result: Fields = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== null && value !== undefined) result[key] = value;
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
