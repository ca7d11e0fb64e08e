/**
 * Heartbeat monitors: their settings, the pings that feed them, and the
 * checker's claim of monitors whose deadline passed.
 *
 * Status is computed by services/monitor-status.ts from timestamps. The
 * stored `status` is only the last state alerts were raised for: it moves to
 * DOWN and back UP by compare-and-set, in the transaction that writes the
 * StatusChange, so however many checkers and pings race, each change is
 * recorded (and alerted) once. `alert_after` holds the next deadline, kept
 * up to date by every write, and a partial index on it lets the checker read
 * only monitors that are due.
 */
import { randomBytes } from "node:crypto";
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { notFound, validationError } from "../errors.js";
import type { Monitor } from "../generated/prisma/client.js";
import { validateCronExpression, validateTimeZone } from "./cron-schedule.js";
import { type MonitorPingKind, type MonitorStatus, monitorState } from "./monitor-status.js";
import { noticeMonitorsUpdated } from "./realtime-notices.js";
import { type HealthState, recordStatusChanges } from "./status-changes.js";
import { limits } from "./task-input.js";
import { asUuid } from "./tasks.js";

export type MonitorRow = Monitor;

export const MONITOR_COLUMNS = `id, organization_id AS "organizationId", name, token, interval_seconds AS "intervalSeconds", cron,
  timezone, grace_seconds AS "graceSeconds", paused, status, status_changed_at AS "statusChangedAt",
  last_ping_at AS "lastPingAt", last_ping_kind AS "lastPingKind", last_start_at AS "lastStartAt",
  last_duration_ms AS "lastDurationMs", alert_after AS "alertAfter", created_at AS "createdAt", updated_at AS "updatedAt"`;

export const monitorLimits = {
  intervalSeconds: { min: 1, max: 366 * 86_400 },
  graceSeconds: { min: 0, max: 366 * 86_400, default: 60 },
  /** How much of a ping's body is kept as its log. */
  maxPingBodyBytes: 10 * 1024,
} as const;

export const PING_PATH_PREFIX = "/ping/";

export function publicPingUrl(publicUrl: string, token: string): string {
  return `${publicUrl}${PING_PATH_PREFIX}${token}`;
}

export interface MonitorInput {
  name?: string | null;
  intervalSeconds?: number | null;
  cron?: string | null;
  timezone?: string | null;
  graceSeconds?: number | null;
}

interface ScheduleColumns {
  name: string;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  graceSeconds: number;
}

function parseWholeNumber(field: string, value: number, range: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw validationError(field, `${field} must be a whole number of seconds between ${range.min} and ${range.max}`);
  }
  return value;
}

/** Applies `input` over `current`: a new interval replaces a cron schedule and the other way round. */
function mergeMonitorInput(current: ScheduleColumns, input: MonitorInput): ScheduleColumns {
  const next = { ...current };
  if (input.name !== undefined && input.name !== null) {
    if (input.name.trim() === "" || input.name.length > limits.maxNameLength) {
      throw validationError("name", `name must be 1 to ${limits.maxNameLength} characters`);
    }
    next.name = input.name.trim();
  }
  const hasInterval = input.intervalSeconds !== undefined && input.intervalSeconds !== null;
  const hasCron = input.cron !== undefined && input.cron !== null;
  if (hasInterval && hasCron) throw validationError("cron", "give either intervalSeconds or cron, not both");
  if (hasInterval) {
    next.intervalSeconds = parseWholeNumber("intervalSeconds", input.intervalSeconds as number, monitorLimits.intervalSeconds);
    next.cron = null;
    next.timezone = null;
    if (input.timezone) throw validationError("timezone", "timezone applies to cron schedules only");
  } else if (hasCron) {
    next.cron = validateCronExpression(input.cron);
    // A new expression alone keeps the zone it was given for (a cron schedule's, before).
    next.timezone = validateTimeZone(input.timezone ?? current.timezone ?? "UTC");
    next.intervalSeconds = null;
  } else if (input.timezone !== undefined && input.timezone !== null) {
    if (next.cron === null) throw validationError("timezone", "timezone applies to cron schedules only");
    next.timezone = validateTimeZone(input.timezone);
  }
  if (next.intervalSeconds === null && next.cron === null) {
    throw validationError("intervalSeconds", "give a schedule: intervalSeconds, or cron (with timezone)");
  }
  if (input.graceSeconds !== undefined && input.graceSeconds !== null) {
    next.graceSeconds = parseWholeNumber("graceSeconds", input.graceSeconds, monitorLimits.graceSeconds);
  }
  return next;
}

export async function createMonitor(db: Queryable, organizationId: string, input: MonitorInput): Promise<MonitorRow> {
  if (input.name === undefined || input.name === null) throw validationError("name", "name is required");
  const columns = mergeMonitorInput(
    { name: "", intervalSeconds: null, cron: null, timezone: null, graceSeconds: monitorLimits.graceSeconds.default },
    input,
  );
  const { rows } = await db.query<MonitorRow>(
    `INSERT INTO monitors (id, organization_id, name, token, interval_seconds, cron, timezone, grace_seconds)
     VALUES ($8, $1, $2, $3, $4, $5, $6, $7) RETURNING ${MONITOR_COLUMNS}`,
    [
      organizationId,
      columns.name,
      randomBytes(16).toString("base64url"),
      columns.intervalSeconds,
      columns.cron,
      columns.timezone,
      columns.graceSeconds,
      uuidv7(),
    ],
  );
  const monitor = rows[0] as MonitorRow;
  // After the insert committed (db is not a transaction here): live views list the new monitor.
  await noticeMonitorsUpdated(db, [{ organizationId, monitorId: monitor.id }]);
  return monitor;
}

export async function getMonitor(db: Queryable, organizationId: string, id: string): Promise<MonitorRow> {
  const { rows } = await db.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND organization_id = $2`, [
    asUuid(id, "monitor"),
    organizationId,
  ]);
  if (!rows[0]) throw notFound("monitor", id);
  return rows[0];
}

async function lockMonitor(client: PoolClient, organizationId: string, id: string): Promise<MonitorRow> {
  const { rows } = await client.query<MonitorRow>(
    `SELECT ${MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND organization_id = $2 FOR UPDATE`,
    [asUuid(id, "monitor"), organizationId],
  );
  if (!rows[0]) throw notFound("monitor", id);
  return rows[0];
}

/** The state kept in `monitors.status`: LATE is only ever computed, so it is stored as UP. */
function storedStatus(status: MonitorStatus): Exclude<MonitorStatus, "LATE"> {
  return status === "LATE" ? "UP" : status;
}

/** The health change from one stored status to another, if any: only UP and DOWN count (NEW and PAUSED are neither). */
function healthChange(before: string, after: string): { state: HealthState; previous: HealthState | null } | null {
  const health = (status: string): HealthState | null => (status === "DOWN" ? "DOWN" : status === "UP" ? "UP" : null);
  const previous = health(before);
  const state = health(after);
  return state !== null && state !== previous ? { state, previous } : null;
}

/** Writes the monitor's new timestamps, recomputes its deadline and settles its stored status. */
async function saveMonitorState(
  boss: PgBoss,
  client: PoolClient,
  monitor: MonitorRow,
  changes: Partial<MonitorRow>,
  now: Date,
  reason: string | null,
): Promise<MonitorRow> {
  const next = { ...monitor, ...changes };
  const state = monitorState(next, now);
  const stored = storedStatus(state.status);
  const { rows } = await client.query<MonitorRow>(
    `UPDATE monitors SET paused = $2, last_ping_at = $3, last_ping_kind = $4, last_start_at = $5, last_duration_ms = $6,
       interval_seconds = $7, cron = $8, timezone = $9, grace_seconds = $10, name = $11, alert_after = $12, status = $13,
       status_changed_at = CASE WHEN status = $13 THEN status_changed_at ELSE $14 END, updated_at = now()
     WHERE id = $1 RETURNING ${MONITOR_COLUMNS}`,
    [
      monitor.id,
      next.paused,
      next.lastPingAt,
      next.lastPingKind,
      next.lastStartAt,
      next.lastDurationMs,
      next.intervalSeconds,
      next.cron,
      next.timezone,
      next.graceSeconds,
      next.name,
      state.alertAfter,
      stored,
      now,
    ],
  );
  await noticeMonitorsUpdated(client, [{ organizationId: monitor.organizationId, monitorId: monitor.id }]);
  const change = healthChange(monitor.status, stored);
  if (change) {
    await recordStatusChanges(boss, client, [
      { organizationId: monitor.organizationId, resourceType: "MONITOR", resourceId: monitor.id, ...change, reason, at: now },
    ]);
  }
  return rows[0] as MonitorRow;
}

export async function updateMonitor(
  deps: { pool: Pool; boss: PgBoss },
  organizationId: string,
  id: string,
  input: MonitorInput,
): Promise<MonitorRow> {
  return withTransaction(deps.pool, async (client) => {
    const monitor = await lockMonitor(client, organizationId, id);
    const columns = mergeMonitorInput(monitor, input);
    return saveMonitorState(deps.boss, client, monitor, columns, new Date(), "schedule changed");
  });
}

/** Pausing stops expecting pings (no alerts); resuming starts over as NEW until the next ping, as healthchecks.io does. */
export async function setMonitorPaused(
  deps: { pool: Pool; boss: PgBoss },
  organizationId: string,
  id: string,
  paused: boolean,
): Promise<MonitorRow> {
  return withTransaction(deps.pool, async (client) => {
    const monitor = await lockMonitor(client, organizationId, id);
    if (monitor.paused === paused) return monitor;
    const changes = paused ? { paused } : { paused, lastPingAt: null, lastPingKind: null, lastStartAt: null };
    return saveMonitorState(deps.boss, client, monitor, changes, new Date(), paused ? "paused" : "resumed");
  });
}

export async function deleteMonitor(db: Queryable, organizationId: string, id: string): Promise<MonitorRow> {
  const { rows } = await db.query<MonitorRow>(`DELETE FROM monitors WHERE id = $1 AND organization_id = $2 RETURNING ${MONITOR_COLUMNS}`, [
    asUuid(id, "monitor"),
    organizationId,
  ]);
  if (!rows[0]) throw notFound("monitor", id);
  return rows[0];
}

export interface Ping {
  kind: MonitorPingKind;
  exitCode: number | null;
  /** Already cut to monitorLimits.maxPingBodyBytes. */
  body: string | null;
  method: string;
  sourceIp: string;
  userAgent: string | null;
}

/**
 * Records a ping by the monitor's token and moves the monitor on: a success
 * brings it UP (alerting if it was DOWN), a failure takes it DOWN at once, a
 * start begins timing a run. A ping also resumes a paused monitor. Null for an
 * unknown token.
 */
export async function recordPing(
  deps: { pool: Pool; boss: PgBoss },
  token: string,
  ping: Ping,
  now = new Date(),
): Promise<MonitorRow | null> {
  return withTransaction(deps.pool, async (client) => {
    const { rows } = await client.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE token = $1 FOR UPDATE`, [token]);
    const monitor = rows[0];
    if (!monitor) return null;
    // A ping to a paused monitor resumes it afresh, as resuming does: its pings from before the pause say nothing of
    // when the next one is due (kept, their deadline has long passed: a false DOWN, then a recovery).
    const forgotten = monitor.paused ? { lastPingAt: null, lastPingKind: null, lastStartAt: null } : {};
    const known = { ...monitor, ...forgotten };
    const running = known.lastStartAt !== null && (known.lastPingAt === null || known.lastStartAt > known.lastPingAt);
    const durationMs = ping.kind !== "START" && running ? now.getTime() - (known.lastStartAt as Date).getTime() : null;
    await client.query(
      `INSERT INTO monitor_pings (id, monitor_id, kind, exit_code, duration_ms, body, method, source_ip, user_agent, received_at)
       VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [monitor.id, ping.kind, ping.exitCode, durationMs, ping.body, ping.method, ping.sourceIp, ping.userAgent, now, uuidv7()],
    );
    const changes: Partial<MonitorRow> =
      ping.kind === "START"
        ? { ...forgotten, paused: false, lastStartAt: now }
        : { ...forgotten, paused: false, lastPingAt: now, lastPingKind: ping.kind, lastDurationMs: durationMs ?? monitor.lastDurationMs };
    const reason =
      ping.kind === "FAIL"
        ? ping.exitCode === null
          ? "failure ping"
          : `exit code ${ping.exitCode}`
        : ping.kind === "SUCCESS"
          ? "ping received"
          : null;
    return saveMonitorState(deps.boss, client, monitor, changes, now, reason);
  });
}

/** Monitors claimed per transaction by the checker. */
export const MONITOR_CLAIM_BATCH = 500;

/**
 * The checker's pass: claims monitors whose deadline passed (SKIP LOCKED, so
 * concurrent checkers split them), and settles the batch in a few
 * statements: one update of their deadlines and states, one NOTIFY per
 * monitor in one statement, and the status changes (with their alerts) of
 * those now DOWN. A monitor a ping moved on just gets its new deadline.
 * Returns how many went DOWN and how many rows were claimed.
 */
export async function checkDueMonitors(boss: PgBoss, pool: Pool, now = new Date()): Promise<{ claimed: number; wentDown: number }> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<MonitorRow>(
      `SELECT ${MONITOR_COLUMNS} FROM monitors WHERE alert_after <= $1 ORDER BY alert_after LIMIT ${MONITOR_CLAIM_BATCH}
       FOR UPDATE SKIP LOCKED`,
      [now],
    );
    if (rows.length === 0) return { claimed: 0, wentDown: 0 };
    const settled = rows.map((monitor) => {
      const state = monitorState(monitor, now);
      return { monitor, state, stored: storedStatus(state.status) };
    });
    await client.query(
      `UPDATE monitors m SET alert_after = u.alert_after, status = u.status,
         status_changed_at = CASE WHEN m.status = u.status THEN m.status_changed_at ELSE $4 END, updated_at = now()
       FROM unnest($1::uuid[], $2::timestamptz[], $3::monitor_status[]) AS u(id, alert_after, status) WHERE m.id = u.id`,
      [settled.map((item) => item.monitor.id), settled.map((item) => item.state.alertAfter), settled.map((item) => item.stored), now],
    );
    await noticeMonitorsUpdated(
      client,
      rows.map((monitor) => ({ organizationId: monitor.organizationId, monitorId: monitor.id })),
    );
    const changes = settled.flatMap(({ monitor, state, stored }) => {
      const change = healthChange(monitor.status, stored);
      if (!change) return [];
      return [
        {
          organizationId: monitor.organizationId,
          resourceType: "MONITOR" as const,
          resourceId: monitor.id,
          ...change,
          reason: state.running ? "run started but did not finish within the grace period" : "no ping within the grace period",
          at: now,
        },
      ];
    });
    await recordStatusChanges(boss, client, changes);
    return { claimed: rows.length, wentDown: changes.filter((change) => change.state === "DOWN").length };
  });
}

/** The earliest deadline of any monitor, for the checker's sleep; null when none is pending. */
export async function nextMonitorDeadline(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>("SELECT min(alert_after) AS at FROM monitors WHERE alert_after IS NOT NULL");
  return rows[0]?.at ?? null;
}
