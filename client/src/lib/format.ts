/** How times, durations and numbers read in the dashboard. */

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "3 min. ago", "in 5 sec.", "now". */
export function formatRelative(value: string | Date, now: number = Date.now()): string {
  const difference = new Date(value).getTime() - now;
  if (Math.abs(difference) < 1500) return "now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(difference) >= size || unit === "second") return relativeFormat.format(Math.round(difference / size), unit);
  }
  return "now";
}

/** "28 Nov 2026, 09:15:02" in the given time zone (the browser's by default). */
export function formatDateTime(value: string | Date, timeZone?: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone,
  }).format(new Date(value));
}

/** "Mon 30 Nov, 02:30 (CET)" — for cron previews in the task's own time zone. */
export function formatSlot(value: string | Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
    timeZoneName: "short",
  }).format(new Date(value));
}

/** "850 ms", "2.4 s", "3 min 12 s". */
export function formatDuration(milliseconds: number | null | undefined): string {
  if (milliseconds === null || milliseconds === undefined) return "—";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(milliseconds < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(milliseconds / 60_000);
  return `${minutes} min ${Math.round((milliseconds % 60_000) / 1000)} s`;
}

export function formatCount(value: number): string {
  return new Intl.NumberFormat("en").format(value);
}

export function formatPercent(fraction: number | null): string {
  if (fraction === null || Number.isNaN(fraction)) return "—";
  return `${(fraction * 100).toFixed(fraction >= 0.995 || fraction === 0 ? 0 : 1)}%`;
}

/** Pretty-prints a JSON text; anything else is returned as it is. */
export function prettyJson(text: string): { text: string; isJson: boolean } {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return { text, isJson: false };
  try {
    return { text: JSON.stringify(JSON.parse(trimmed), null, 2), isJson: true };
  } catch {
    return { text, isJson: false };
  }
}

/** A task's label: its name, or its URL without the scheme. */
export function taskLabel(task: { name?: string | null; url: string }): string {
  return task.name?.trim() || task.url.replace(/^https?:\/\//, "");
}

export function pluralize(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : plural}`;
}
