/** How a heartbeat monitor's schedule and state read in the dashboard. */
import cronstrue from "cronstrue";
import type { MonitorRow, MonitorStatus } from "../graphql/monitors";

/** Units offered for intervals and grace periods, largest first. */
export const DURATION_UNITS = [
  { label: "days", seconds: 86_400 },
  { label: "hours", seconds: 3600 },
  { label: "minutes", seconds: 60 },
  { label: "seconds", seconds: 1 },
] as const;

/** A number of seconds in the largest unit that divides it: 7200 → { amount: 2, unit: 3600 }. */
export function splitSeconds(seconds: number): { amount: number; unit: number } {
  const unit = DURATION_UNITS.find((candidate) => seconds > 0 && seconds % candidate.seconds === 0) ?? DURATION_UNITS[3];
  return { amount: seconds / unit.seconds, unit: unit.seconds };
}

/** "every 5 minutes", "At 03:00 (Europe/Paris)". */
export function describeSchedule(monitor: Pick<MonitorRow, "intervalSeconds" | "cron" | "timezone">): string {
  if (monitor.cron) {
    try {
      const words = cronstrue.toString(monitor.cron, { use24HourTimeFormat: true });
      return `${words.charAt(0).toLowerCase()}${words.slice(1)} (${monitor.timezone ?? "UTC"})`;
    } catch {
      return `${monitor.cron} (${monitor.timezone ?? "UTC"})`;
    }
  }
  const every = describeSeconds(monitor.intervalSeconds ?? 0);
  return every.startsWith("1 ") ? `every ${every.slice(2)}` : `every ${every}`;
}

/** "90 seconds", "2 hours", "1 day". */
export function describeSeconds(seconds: number): string {
  const { amount, unit } = splitSeconds(seconds);
  const name = DURATION_UNITS.find((candidate) => candidate.seconds === unit)?.label ?? "seconds";
  return `${amount} ${amount === 1 ? name.slice(0, -1) : name}`;
}

/**
 * The status to show at `now`: the server computes it when it answers, and a
 * monitor that was UP becomes LATE by itself once its ping is overdue (the
 * checker only reports DOWN), so the page moves it on as the clock does.
 */
export function monitorStatusAt(monitor: Pick<MonitorRow, "status" | "expectedAt">, now: number): MonitorStatus {
  if (monitor.status === "UP" && monitor.expectedAt && new Date(monitor.expectedAt).getTime() < now) return "LATE";
  return monitor.status;
}
