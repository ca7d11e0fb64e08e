/**
 * Uptime from a resource's status changes, as a pure function of the changes
 * and the clock: per UTC day of a window (90 days on status pages) how long
 * it was observed and how long DOWN, and the percentage over the window.
 * Time before the resource was observed (created, or a monitor's first ping)
 * is "no data", not uptime.
 */
import type { HealthState } from "./status-changes.js";

export const DAY_MS = 86_400_000;

export interface UptimeDay {
  /** The day's start (00:00 UTC). */
  date: Date;
  observedMs: number;
  downMs: number;
}

export interface Uptime {
  days: UptimeDay[];
  /** Up time over observed time in the window, 0–100; null when nothing was observed. */
  percentage: number | null;
}

/**
 * `changes` in time order; `observedFrom` is when the resource started to
 * count; the state before the first change (within or before the window) is UP.
 */
export function computeUptime(changes: Array<{ state: HealthState; at: Date }>, observedFrom: Date, now: Date, days: number): Uptime {
  const todayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const windowStart = todayStart - (days - 1) * DAY_MS;
  // DOWN intervals, each [start, end).
  const down: Array<[number, number]> = [];
  let downSince: number | null = null;
  for (const change of changes) {
    const at = change.at.getTime();
    if (change.state === "DOWN" && downSince === null) downSince = at;
    if (change.state === "UP" && downSince !== null) {
      down.push([downSince, at]);
      downSince = null;
    }
  }
  if (downSince !== null) down.push([downSince, now.getTime()]);

  const from = observedFrom.getTime();
  const result: UptimeDay[] = [];
  let observedTotal = 0;
  let downTotal = 0;
  for (let index = 0; index < days; index++) {
    const dayStart = windowStart + index * DAY_MS;
    const start = Math.max(dayStart, from);
    const end = Math.min(dayStart + DAY_MS, now.getTime());
    const observedMs = Math.max(0, end - start);
    let downMs = 0;
    if (observedMs > 0) {
      for (const [downStart, downEnd] of down) downMs += Math.max(0, Math.min(end, downEnd) - Math.max(start, downStart));
    }
    observedTotal += observedMs;
    downTotal += downMs;
    result.push({ date: new Date(dayStart), observedMs, downMs });
  }
  return { days: result, percentage: observedTotal === 0 ? null : ((observedTotal - downTotal) / observedTotal) * 100 };
}

/** "99.95%", "100%", "—": two decimals, never rounding a bad day up to 100%. */
export function formatPercentage(percentage: number | null): string {
  if (percentage === null) return "—";
  if (percentage >= 100) return "100%";
  return `${(Math.floor(percentage * 100) / 100).toFixed(2)}%`;
}
