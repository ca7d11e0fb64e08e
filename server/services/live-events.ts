/**
 * Live events: what the database triggers of migration `realtime_events`
 * publish on LIVE_EVENTS_CHANNEL, how a notification is read, and the rows a
 * batch of notifications turns into. Shared by every server process; the
 * worker publishes nothing itself (its writes fire the triggers).
 */
import type { Queryable } from "../db/pool.js";
import { DomainError } from "../errors.js";
import type { Execution, InboundEvent, Monitor, Task } from "../generated/prisma/client.js";
import { MONITOR_COLUMNS } from "./monitors.js";
import { INBOUND_EVENT_CHANNEL, MONITOR_UPDATED_CHANNEL } from "./realtime-notices.js";
import { TASK_COLUMNS } from "./tasks.js";

export const LIVE_EVENTS_CHANNEL = "runlater_events";

/**
 * Every channel a live event hub listens on: the triggers' channel, and the
 * notices inbound webhooks and monitors send from their transactions
 * (services/realtime-notices.ts).
 */
export const LIVE_CHANNELS = [LIVE_EVENTS_CHANNEL, INBOUND_EVENT_CHANNEL, MONITOR_UPDATED_CHANNEL] as const;

/** One decoded notification: an organisation and the ids of what changed in it. */
export type LiveNotification =
  | { kind: "execution"; organizationId: string; executions: Array<{ id: string; status: string }> }
  | { kind: "task"; organizationId: string; tasks: Array<{ id: string; status: string; statusChanged: boolean; created: boolean }> }
  | { kind: "queue"; organizationId: string; queues: string[] }
  | { kind: "apiKeyRevoked"; organizationId: string; apiKeyIds: string[] }
  /** A session or a membership of the organisation ended: its live connections are re-authorised. */
  | { kind: "accessEnded"; organizationId: string }
  | { kind: "monitor"; organizationId: string; monitorIds: string[] }
  | { kind: "inboundEvent"; organizationId: string; eventIds: string[] };

/** Reads a notification from any of LIVE_CHANNELS; null for one this version does not understand. */
export function decodeChannelNotification(channel: string, payload: string): LiveNotification | null {
  if (channel === LIVE_EVENTS_CHANNEL) return decodeLiveNotification(payload);
  if (channel !== INBOUND_EVENT_CHANNEL && channel !== MONITOR_UPDATED_CHANNEL) return null;
  let notice: { organizationId?: unknown; monitorId?: unknown; eventId?: unknown };
  try {
    notice = JSON.parse(payload);
  } catch {
    return null;
  }
  const { organizationId, monitorId, eventId } = notice;
  if (typeof organizationId !== "string") return null;
  if (channel === MONITOR_UPDATED_CHANNEL) {
    return typeof monitorId === "string" ? { kind: "monitor", organizationId, monitorIds: [monitorId] } : null;
  }
  return typeof eventId === "string" ? { kind: "inboundEvent", organizationId, eventIds: [eventId] } : null;
}

/** Reads a `runlater_events` payload; null for one this version does not understand (a newer migration's). */
export function decodeLiveNotification(payload: string): LiveNotification | null {
  let message: { k?: string; o?: string; c?: boolean; r?: unknown[] };
  try {
    message = JSON.parse(payload);
  } catch {
    return null;
  }
  const organizationId = message.o;
  const rows = message.r;
  if (typeof organizationId !== "string" || !Array.isArray(rows)) return null;
  switch (message.k) {
    case "e":
      return {
        kind: "execution",
        organizationId,
        executions: (rows as Array<[string, string]>).map(([id, status]) => ({ id, status })),
      };
    case "t":
      return {
        kind: "task",
        organizationId,
        tasks: (rows as Array<[string, string, boolean]>).map(([id, status, changed]) => ({
          id,
          status,
          statusChanged: changed,
          created: message.c === true,
        })),
      };
    case "q":
      return { kind: "queue", organizationId, queues: rows as string[] };
    case "k":
      return { kind: "apiKeyRevoked", organizationId, apiKeyIds: rows as string[] };
    case "a":
      return { kind: "accessEnded", organizationId };
    default:
      return null;
  }
}

export type ExecutionWithTask = Execution & { task: Task };

const EXECUTION_COLUMNS = `id, organization_id AS "organizationId", task_id AS "taskId", run, queue, priority, attempt, status,
  scheduled_for AS "scheduledFor", admitted_at AS "admittedAt", waiting_reason AS "waitingReason", started_at AS "startedAt",
  finished_at AS "finishedAt", duration_ms AS "durationMs", response_status AS "responseStatus",
  response_headers AS "responseHeaders", response_body AS "responseBody", response_body_truncated AS "responseBodyTruncated",
  error, created_at AS "createdAt"`;

/**
 * Bodies up to this size travel with a live inbound event. A larger one (up
 * to 1 MiB) is left out, so a burst of big webhooks does not haul megabytes
 * through the LISTEN connection for subscribers that show a list; the body
 * fields read it when a subscriber asks for it.
 */
export const LIVE_INBOUND_BODY_LIMIT = 64 * 1024;

/** An inbound event as a live subscriber receives it: `body` is null when it is larger than LIVE_INBOUND_BODY_LIMIT. */
export type LiveInboundEvent = Omit<InboundEvent, "body"> & { body: Uint8Array | null; bodySize: number };

const INBOUND_EVENT_COLUMNS = `id, organization_id AS "organizationId", endpoint_id AS "endpointId", status,
  rejection_reason AS "rejectionReason", method, path, query, headers, source_ip AS "sourceIp", received_at AS "receivedAt",
  CASE WHEN octet_length(body) <= ${LIVE_INBOUND_BODY_LIMIT} THEN body END AS body, octet_length(body) AS "bodySize"`;

export interface LiveRowIds {
  executionIds: string[];
  taskIds: string[];
  monitorIds?: string[];
  inboundEventIds?: string[];
}

export interface LiveRows {
  executions: ExecutionWithTask[];
  tasks: Task[];
  monitors: Monitor[];
  inboundEvents: LiveInboundEvent[];
}

export const LIVE_EXECUTIONS_SQL = `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = ANY($1::uuid[]) ORDER BY id`;

/**
 * The tasks named ($1) and those of the executions named ($2). One array of
 * ids, so the primary key finds them: written as `id = ANY($1) OR id IN
 * (SELECT task_id ...)`, PostgreSQL cannot use an index for the OR and read
 * the whole tasks table on every batch (12 ms at 100,000 tasks, growing with
 * the table; found with bench/realtime.ts).
 */
export const LIVE_TASKS_SQL = `SELECT ${TASK_COLUMNS} FROM tasks
  WHERE id = ANY($1::uuid[] || ARRAY(SELECT task_id FROM executions WHERE id = ANY($2::uuid[])))`;

/**
 * The rows a batch of notifications names, for every organisation at once:
 * executions with their tasks, tasks, monitors and inbound events. At most
 * four queries in parallel, whatever the batch's size; rows carry their
 * organisation, which routes them.
 */
export async function loadLiveRows(db: Queryable, ids: LiveRowIds): Promise<LiveRows> {
  const { executionIds, taskIds, monitorIds = [], inboundEventIds = [] } = ids;
  const [executions, tasks, monitors, inboundEvents] = await Promise.all([
    executionIds.length ? db.query<Execution>(LIVE_EXECUTIONS_SQL, [executionIds]) : { rows: [] as Execution[] },
    executionIds.length || taskIds.length ? db.query<Task>(LIVE_TASKS_SQL, [taskIds, executionIds]) : { rows: [] as Task[] },
    monitorIds.length
      ? db.query<Monitor>(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE id = ANY($1::uuid[])`, [monitorIds])
      : { rows: [] as Monitor[] },
    inboundEventIds.length
      ? db.query<LiveInboundEvent>(`SELECT ${INBOUND_EVENT_COLUMNS} FROM inbound_events WHERE id = ANY($1::uuid[]) ORDER BY id`, [
          inboundEventIds,
        ])
      : { rows: [] as LiveInboundEvent[] },
  ]);
  const tasksById = new Map(tasks.rows.map((task) => [task.id, task]));
  return {
    executions: executions.rows.flatMap((execution) => {
      const task = tasksById.get(execution.taskId);
      return task ? [{ ...execution, task }] : [];
    }),
    tasks: tasks.rows.filter((task) => taskIds.includes(task.id)),
    monitors: monitors.rows,
    inboundEvents: inboundEvents.rows,
  };
}

export const ACTIVITY_KINDS = [
  "TASK_CREATED",
  "TASK_CANCELLED",
  "EXECUTION_SCHEDULED",
  "EXECUTION_RETRYING",
  "EXECUTION_STARTED",
  "EXECUTION_SUCCEEDED",
  "EXECUTION_FAILED",
  "EXECUTION_TIMED_OUT",
  "EXECUTION_CANCELLED",
  "EXECUTION_MISSED",
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export interface ActivityEvent {
  kind: ActivityKind;
  at: Date;
  task: Task;
  execution: ExecutionWithTask | null;
}

/** What an execution's new status means for the activity feed. */
export function executionActivity(execution: ExecutionWithTask): ActivityEvent {
  const kinds: Record<string, ActivityKind> = {
    PENDING: execution.attempt > 1 ? "EXECUTION_RETRYING" : "EXECUTION_SCHEDULED",
    RUNNING: "EXECUTION_STARTED",
    SUCCEEDED: "EXECUTION_SUCCEEDED",
    FAILED: "EXECUTION_FAILED",
    TIMED_OUT: "EXECUTION_TIMED_OUT",
    CANCELLED: "EXECUTION_CANCELLED",
    MISSED: "EXECUTION_MISSED",
  };
  const at = execution.finishedAt ?? execution.startedAt ?? execution.createdAt;
  return { kind: kinds[execution.status] ?? "EXECUTION_SCHEDULED", at, task: execution.task, execution };
}

/** Task events worth a line in the feed: creation and cancellation (the rest shows through its executions). */
export function taskActivity(task: Task, change: { created: boolean; statusChanged: boolean }): ActivityEvent | null {
  if (change.created) return { kind: "TASK_CREATED", at: task.createdAt, task, execution: null };
  if (change.statusChanged && task.status === "CANCELLED") {
    return { kind: "TASK_CANCELLED", at: task.completedAt ?? task.updatedAt, task, execution: null };
  }
  return null;
}

export interface ActivityBucket {
  start: Date;
  succeeded: number;
  failed: number;
  total: number;
}

export const activityStatsLimits = {
  sinceMinutes: { min: 1, max: 7 * 24 * 60 },
  bucketMinutes: { min: 1, max: 24 * 60 },
  buckets: 1440,
} as const;

/**
 * Finished attempts of an organisation per time bucket, oldest first, empty
 * buckets included. Reads the (organization_id, finished_at) index range only.
 * `succeeded` + `failed` (FAILED and TIMED_OUT) may be less than `total`, which
 * also counts cancelled and missed attempts.
 */
export async function activityStats(
  db: Queryable,
  organizationId: string,
  options: { sinceMinutes: number; bucketMinutes: number },
): Promise<ActivityBucket[]> {
  const { sinceMinutes, bucketMinutes } = options;
  for (const field of ["sinceMinutes", "bucketMinutes"] as const) {
    const { min, max } = activityStatsLimits[field];
    const value = options[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new DomainError("VALIDATION_FAILED", `${field} must be a whole number between ${min} and ${max}`, { field });
    }
  }
  if (Math.ceil(sinceMinutes / bucketMinutes) > activityStatsLimits.buckets) {
    throw new DomainError(
      "VALIDATION_FAILED",
      `bucketMinutes is too small for sinceMinutes: at most ${activityStatsLimits.buckets} buckets (sinceMinutes / bucketMinutes)`,
      { field: "bucketMinutes" },
    );
  }
  // Buckets are aligned to whole bucket widths since the epoch, so charts refreshed later line up.
  const { rows } = await db.query<ActivityBucket>(
    `WITH bounds AS (
       SELECT make_interval(mins => $3) AS width,
              date_bin(make_interval(mins => $3), now() - make_interval(mins => $2), timestamptz 'epoch') AS first_start
     ),
     counts AS (
       SELECT date_bin(bounds.width, e.finished_at, timestamptz 'epoch') AS start,
              count(*) FILTER (WHERE e.status = 'SUCCEEDED')::int AS succeeded,
              count(*) FILTER (WHERE e.status IN ('FAILED', 'TIMED_OUT'))::int AS failed,
              count(*)::int AS total
       FROM executions e, bounds
       WHERE e.organization_id = $1 AND e.finished_at IS NOT NULL AND e.finished_at >= bounds.first_start
       GROUP BY 1
     )
     SELECT series.start, COALESCE(counts.succeeded, 0) AS succeeded, COALESCE(counts.failed, 0) AS failed,
            COALESCE(counts.total, 0) AS total
     FROM bounds, generate_series(bounds.first_start, now(), bounds.width) AS series(start)
     LEFT JOIN counts ON counts.start = series.start
     ORDER BY series.start`,
    [organizationId, sinceMinutes, bucketMinutes],
  );
  return rows;
}
