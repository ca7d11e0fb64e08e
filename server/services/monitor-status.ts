/**
 * A heartbeat monitor's status, as a pure function of its timestamps and the
 * clock (healthchecks.io's semantics). No database, no timers: the API, the
 * ping handler and the checker all ask this module, and tests pin the clock.
 *
 *            ping                 expected            expected + grace
 *   NEW ──▶ UP ─────────────────────┼──── LATE ───────────┼──── DOWN
 *            ▲                                                   │
 *            └──────────────────── ping (success) ───────────────┘
 *
 * - NEW: never pinged (a monitor does not go DOWN before its first ping).
 * - UP until the next ping is expected: `lastPing + interval`, or the first
 *   cron occurrence after the last ping in the monitor's time zone.
 * - LATE from then until `expected + grace`; DOWN after.
 * - A run that started (/start) and has not finished must finish within the
 *   grace period: DOWN at `lastStart + grace` at the latest.
 * - A failure ping (/fail, non-zero exit code) is DOWN at once, until the next
 *   success ping.
 * - PAUSED: nothing is expected; the next ping resumes it.
 *
 * `alertAfter` is the instant the monitor goes DOWN if nothing happens, which
 * the checker waits for; null when nothing can make it go DOWN by itself.
 */
import { nextCronOccurrence } from "./cron-schedule.js";

export type MonitorStatus = "NEW" | "UP" | "LATE" | "DOWN" | "PAUSED";
export type MonitorPingKind = "SUCCESS" | "START" | "FAIL";

export interface MonitorTimestamps {
  paused: boolean;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  graceSeconds: number;
  lastPingAt: Date | null;
  /** How the last finished run ended: SUCCESS or FAIL. */
  lastPingKind: MonitorPingKind | null;
  lastStartAt: Date | null;
}

export interface MonitorState {
  status: MonitorStatus;
  /** When the next ping is expected (null: none is). */
  expectedAt: Date | null;
  /** When the monitor goes DOWN unless pinged; null when it is DOWN already, NEW or PAUSED. */
  alertAfter: Date | null;
  /** A /start ping without its finishing ping yet. */
  running: boolean;
}

/** When the ping after `lastPingAt` is expected. */
export function nextExpectedPing(monitor: Pick<MonitorTimestamps, "intervalSeconds" | "cron" | "timezone">, lastPingAt: Date): Date {
  if (monitor.intervalSeconds !== null) return new Date(lastPingAt.getTime() + monitor.intervalSeconds * 1000);
  const next = nextCronOccurrence(monitor.cron as string, monitor.timezone ?? "UTC", lastPingAt);
  // An expression that never fires again (e.g. a date in the past) expects nothing: far in the future.
  return next ?? new Date(8.64e15);
}

export function monitorState(monitor: MonitorTimestamps, now: Date): MonitorState {
  const running = monitor.lastStartAt !== null && (monitor.lastPingAt === null || monitor.lastStartAt > monitor.lastPingAt);
  if (monitor.paused) return { status: "PAUSED", expectedAt: null, alertAfter: null, running };
  if (monitor.lastPingKind === "FAIL") return { status: "DOWN", expectedAt: null, alertAfter: null, running };
  const graceMs = monitor.graceSeconds * 1000;
  const runDeadline = running ? new Date((monitor.lastStartAt as Date).getTime() + graceMs) : null;
  if (monitor.lastPingAt === null) {
    if (runDeadline === null) return { status: "NEW", expectedAt: null, alertAfter: null, running };
    return now >= runDeadline
      ? { status: "DOWN", expectedAt: null, alertAfter: null, running }
      : { status: "UP", expectedAt: null, alertAfter: runDeadline, running };
  }
  const expectedAt = nextExpectedPing(monitor, monitor.lastPingAt);
  let deadline = new Date(expectedAt.getTime() + graceMs);
  if (runDeadline !== null && runDeadline < deadline) deadline = runDeadline;
  if (now >= deadline) return { status: "DOWN", expectedAt, alertAfter: null, running };
  return { status: now >= expectedAt ? "LATE" : "UP", expectedAt, alertAfter: deadline, running };
}
