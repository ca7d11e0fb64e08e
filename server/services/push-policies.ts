/**
 * Push policies: what a push with `dedupe`, `debounceKey` or `throttleKey`
 * does instead of creating a task.
 *
 * - dedupe: a push whose method, URL and body hash (contentHash) match a task
 *   of the organisation created within `dedupeWindow` returns that task.
 * - throttle: a push within `throttleWindow` of the last task with its key
 *   returns that task: at most one task per key per window, the first wins.
 * - debounce: a push whose key has a task that has not started yet (SCHEDULED,
 *   first attempt PENDING) replaces that task's request and moves its run time
 *   to `debounceWindow` from now: the last push wins, and runs once things are
 *   quiet. Without such a task, it creates one due `debounceWindow` from now.
 *
 * Cancelled tasks never match. Keys and hashes are the organisation's own.
 * Pushes of one key are serialised by a transaction-scoped advisory lock, so
 * two concurrent pushes never both create a task; the pushes of a batch are
 * applied in order, as if pushed one by one.
 */
import type { PgBoss } from "pg-boss";
import type { PoolClient } from "../db/pool.js";
import { attemptJobId, bossDb, DISPATCH_QUEUE, notifyDue } from "./dispatch-queue.js";
import type { TaskSpec } from "./task-input.js";

/** How one push resolves: a task to create (an index into `toCreate`) or an existing task. */
export type PushOutcome = { kind: "create"; index: number } | { kind: "existing"; taskId: string };

export interface PushPlan {
  /** The tasks to create, in push order. */
  toCreate: TaskSpec[];
  /** One per push, in push order. */
  outcomes: PushOutcome[];
}

interface RecentTask {
  taskId: string;
  /** Age by the database's clock, so the windows do not depend on the server's. */
  ageMs: number;
}

export interface PendingDebounce {
  taskId: string;
  executionId: string;
  /** The pg-boss job carrying the attempt (attemptJobId). */
  jobId: string;
  admitted: boolean;
}

/**
 * Decides, for pushes already validated, which create a task and which resolve
 * to an existing one; applies debounce replacements. Runs in the caller's
 * transaction; pushes without a policy cost no query.
 */
export async function planPushes(boss: PgBoss, client: PoolClient, organizationId: string, specs: TaskSpec[]): Promise<PushPlan> {
  if (!specs.some((spec) => spec.dedupe || spec.debounce || spec.throttle)) {
    return { toCreate: specs, outcomes: specs.map((_, index) => ({ kind: "create", index })) };
  }
  await lockPolicyKeys(client, organizationId, specs);
  const dedupeMatches = await latestByColumn(client, organizationId, "dedupe_hash", specs, (spec) => spec.dedupe?.hash);
  const throttleMatches = await latestByColumn(client, organizationId, "throttle_key", specs, (spec) => spec.throttle?.key);
  const pendingDebounces = await findPendingDebounces(client, organizationId, specs);

  const toCreate: TaskSpec[] = [];
  const create = (spec: TaskSpec): PushOutcome => ({ kind: "create", index: toCreate.push(spec) - 1 });
  // Tasks this plan creates, by hash or key: newer than anything in the database.
  const createdByDedupe = new Map<string, PushOutcome>();
  const createdByThrottle = new Map<string, PushOutcome>();
  const debounced = new Map<string, PushOutcome>();
  const replacements = new Map<string, { pending: PendingDebounce; spec: TaskSpec; outcome: PushOutcome }>();

  const outcomes = specs.map((spec): PushOutcome => {
    const window = spec.dedupe ?? spec.throttle;
    if (window) {
      const key = spec.dedupe?.hash ?? (spec.throttle?.key as string);
      const created = spec.dedupe ? createdByDedupe : createdByThrottle;
      const earlier = created.get(key);
      if (earlier) return earlier;
      const recent = (spec.dedupe ? dedupeMatches : throttleMatches).get(key);
      if (recent && recent.ageMs < window.windowMs) return { kind: "existing", taskId: recent.taskId };
      const outcome = create(spec);
      created.set(key, outcome);
      return outcome;
    }
    if (spec.debounce) {
      const key = spec.debounce.key;
      const earlier = debounced.get(key);
      if (earlier?.kind === "create") {
        toCreate[earlier.index] = spec;
        return earlier;
      }
      const pending = pendingDebounces.get(key);
      const outcome = earlier ?? (pending ? ({ kind: "existing", taskId: pending.taskId } as const) : create(spec));
      if (pending && outcome.kind === "existing") replacements.set(pending.taskId, { pending, spec, outcome });
      debounced.set(key, outcome);
      return outcome;
    }
    return create(spec);
  });

  let earliestMoved: Date | null = null;
  for (const { pending, spec, outcome } of replacements.values()) {
    if (await replacePendingRequest(boss, client, pending, spec)) {
      if (!earliestMoved || spec.runAt < earliestMoved) earliestMoved = spec.runAt;
    } else {
      // A worker fetched its attempt after the lookup: it has started, so this push makes a new task.
      Object.assign(outcome, create(spec));
    }
  }
  if (earliestMoved) await notifyDue(client, earliestMoved);
  return { toCreate, outcomes };
}

/**
 * One advisory lock per key or hash, taken in a fixed order so that two
 * batches sharing keys cannot deadlock. Held until the transaction ends.
 */
async function lockPolicyKeys(client: PoolClient, organizationId: string, specs: TaskSpec[]): Promise<void> {
  const keys = new Set<string>();
  for (const spec of specs) {
    if (spec.dedupe) keys.add(`dedupe:${organizationId}:${spec.dedupe.hash}`);
    if (spec.debounce) keys.add(`debounce:${organizationId}:${spec.debounce.key}`);
    if (spec.throttle) keys.add(`throttle:${organizationId}:${spec.throttle.key}`);
  }
  await client.query(
    `SELECT pg_advisory_xact_lock(lock_key) FROM (
       SELECT DISTINCT hashtextextended(key, 0) AS lock_key FROM unnest($1::text[]) AS key ORDER BY lock_key
     ) AS keys`,
    [[...keys]],
  );
}

/** The newest task (not cancelled) per value of `column`, among those younger than the longest window asked for. */
async function latestByColumn(
  client: PoolClient,
  organizationId: string,
  column: "dedupe_hash" | "throttle_key",
  specs: TaskSpec[],
  keyOf: (spec: TaskSpec) => string | undefined,
): Promise<Map<string, RecentTask>> {
  const keys = new Set<string>();
  let longestWindowMs = 0;
  for (const spec of specs) {
    const key = keyOf(spec);
    if (key === undefined) continue;
    keys.add(key);
    longestWindowMs = Math.max(longestWindowMs, (spec.dedupe ?? spec.throttle)?.windowMs ?? 0);
  }
  if (keys.size === 0) return new Map();
  const { rows } = await client.query<{ key: string; taskId: string; ageMs: number }>(
    `SELECT DISTINCT ON (${column}) ${column} AS key, id AS "taskId",
            (extract(epoch FROM now() - created_at) * 1000)::float8 AS "ageMs"
     FROM tasks
     WHERE organization_id = $1 AND ${column} = ANY($2::text[]) AND status <> 'CANCELLED'
       AND created_at > now() - make_interval(secs => $3)
     ORDER BY ${column}, created_at DESC, id DESC`,
    [organizationId, [...keys], longestWindowMs / 1000],
  );
  return new Map(rows.map((row) => [row.key, { taskId: row.taskId, ageMs: row.ageMs }]));
}

/**
 * Tasks of the debounce keys that have not started: their first attempt is
 * PENDING. The attempts are locked (before their tasks, the order a worker's
 * claim takes), so none starts while this transaction replaces its request.
 */
async function findPendingDebounces(client: PoolClient, organizationId: string, specs: TaskSpec[]): Promise<Map<string, PendingDebounce>> {
  const keys = [...new Set(specs.flatMap((spec) => (spec.debounce ? [spec.debounce.key] : [])))];
  if (keys.length === 0) return new Map();
  const { rows } = await client.query<PendingDebounce & { key: string }>(
    `SELECT t.debounce_key AS key, t.id AS "taskId", e.id AS "executionId", ${attemptJobId("e")} AS "jobId", e.admitted_at IS NOT NULL AS admitted
     FROM tasks t JOIN executions e ON e.task_id = t.id
     WHERE t.organization_id = $1 AND t.debounce_key = ANY($2::text[])
       AND t.type = 'ONE_OFF' AND t.status = 'SCHEDULED' AND t.attempts = 0
       AND e.status = 'PENDING' AND e.run = 1 AND e.attempt = 1
     ORDER BY t.id
     FOR UPDATE OF e`,
    [organizationId, keys],
  );
  // The lock allows one pending task per key; should there be more, the newest is the one to replace.
  return new Map(
    rows.map((row) => [row.key, { taskId: row.taskId, executionId: row.executionId, jobId: row.jobId, admitted: row.admitted }]),
  );
}

/**
 * Gives a pending debounced task the request of the last push and its new due
 * time. False when its attempt's job was fetched meanwhile (it is starting).
 */
export async function replacePendingRequest(boss: PgBoss, client: PoolClient, pending: PendingDebounce, spec: TaskSpec): Promise<boolean> {
  if (pending.admitted) {
    const { updated } = await boss.update(DISPATCH_QUEUE, undefined, {
      id: pending.jobId,
      startAfter: spec.runAt,
      db: bossDb(client),
    });
    if (updated === 0) return false;
  }
  await client.query(
    `WITH execution AS (
       UPDATE executions SET scheduled_for = $3, priority = CASE WHEN queue IS NULL THEN priority ELSE $11 END WHERE id = $2
     )
     UPDATE tasks SET url = $4, method = $5, headers = $6, body = $7, body_encoding = $8, retries = $9, timeout_ms = $10,
       priority = $11, name = $12, run_at = $3, updated_at = now()
     WHERE id = $1`,
    [
      pending.taskId,
      pending.executionId,
      spec.runAt,
      spec.url,
      spec.method,
      JSON.stringify(spec.headers),
      spec.body,
      spec.bodyEncoding,
      spec.retries,
      spec.timeoutMs,
      spec.priority ?? 0,
      spec.name,
    ],
  );
  return true;
}
