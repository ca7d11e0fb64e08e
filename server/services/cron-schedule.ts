/**
 * Cron schedules, as pure functions of a cron expression, an IANA time zone
 * and a clock: validation, the next occurrences, and which slots are due after
 * a pause in scheduling (catch-up). No database, no timers.
 *
 * Expressions are the standard 5 fields (minute hour day-of-month month
 * day-of-week), evaluated by `croner` in the task's time zone; day-of-month and
 * day-of-week combine as in Vixie cron (OR when both are restricted, AND when
 * either starts with `*`).
 *
 * Daylight-saving time behaves as a person expects (Vixie cron's rules):
 *  - A fixed-time job (no `*` or step in the minute and hour fields, e.g.
 *    `30 2 * * *`) whose time falls in a spring-forward gap runs once that day,
 *    at the first valid time after the gap: 03:00 in America/New_York on
 *    2026-03-08 and in Europe/Berlin on 2026-03-29. When a time occurs twice
 *    (fall back), it runs once, at the first occurrence.
 *  - An interval job (`*\/15 * * * *`, `0 * * * *`) follows real time: times in
 *    a gap do not exist and are skipped; the repeated hour runs again, so the
 *    job keeps its rhythm.
 */
import { Cron } from "croner";
import { validationError } from "../errors.js";

export const CATCH_UP_POLICIES = ["SKIP", "LATEST", "ALL"] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];
export const OVERLAP_POLICIES = ["ALLOW", "SKIP_IF_RUNNING"] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const cronLimits = {
  maxExpressionLength: 200,
  nextRuns: { min: 1, max: 100, default: 5 },
  /** A slot found due less than this long after its time is on time, not missed (the misfire threshold). */
  misfireGraceMs: 60_000,
  /** Catch-up never records more than this many MISSED executions at once; the oldest one summarises the rest. */
  maxMissedRecorded: 100,
  /** Catch-up ALL runs at most this many missed slots (the most recent); older ones are MISSED. */
  maxCatchUpRuns: 100,
} as const;

const CRON_OPTIONS = {
  mode: "5-part",
  // Lists and ranges of hours (`30 2,14 * * *`) are fixed times too, as in Vixie cron: they run after a DST gap.
  fixedTimeRule: "no-wildcard",
} as const;

/**
 * croner's options for `expression`. Day-of-month and day-of-week combine as in Vixie cron: with OR when both are
 * restricted, with AND when either starts with `*` — `*\/2` included, which croner alone would OR (`0 0 *\/2 * 1`:
 * Mondays that fall on odd days, not every odd day and every Monday).
 */
function cronOptions(expression: string) {
  const [, , dayOfMonth = "*", , dayOfWeek = "*"] = expression.split(" ");
  return { ...CRON_OPTIONS, domAndDow: dayOfMonth.startsWith("*") || dayOfWeek.startsWith("*") };
}

/** A validated schedule: the expression as given (trimmed) and the canonical zone name. */
export interface CronSchedule {
  cron: string;
  timezone: string;
}

/**
 * Checks a 5-field cron expression; throws VALIDATION_FAILED naming `cron`.
 * An expression that can never match (`0 0 30 2 *`) is refused too.
 */
export function validateCronExpression(cron: unknown, field = "cron"): string {
  if (typeof cron !== "string" || !cron.trim()) {
    throw validationError(field, 'cron must be a 5-field cron expression like "*/5 * * * *" (minute hour day-of-month month day-of-week)');
  }
  const expression = cron.trim().replace(/\s+/g, " ");
  if (expression.length > cronLimits.maxExpressionLength) {
    throw validationError(field, `cron must be at most ${cronLimits.maxExpressionLength} characters`);
  }
  if (expression.split(" ").length !== 5) {
    throw validationError(
      field,
      `cron must have exactly 5 fields (minute hour day-of-month month day-of-week); "${expression}" has ${expression.split(" ").length}`,
    );
  }
  let pattern: Cron;
  try {
    pattern = new Cron(expression, { ...cronOptions(expression), timezone: "UTC" });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, "") : String(error);
    throw validationError(field, `cron "${expression}" is not a valid cron expression: ${reason}`);
  }
  if (!pattern.nextRun()) throw validationError(field, `cron "${expression}" never matches a date`);
  return expression;
}

/** Checks an IANA time zone name and returns its canonical spelling ("europe/berlin" → "Europe/Berlin"). */
export function validateTimeZone(timezone: unknown, field = "timezone"): string {
  if (typeof timezone !== "string" || !timezone.trim()) {
    throw validationError(field, 'timezone must be an IANA time zone name like "Europe/Berlin" or "UTC"');
  }
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: timezone.trim() }).resolvedOptions().timeZone;
  } catch {
    throw validationError(
      field,
      `timezone "${timezone}" is not an IANA time zone name (like "Europe/Berlin", "America/New_York" or "UTC")`,
    );
  }
}

export function validateCronSchedule(cron: unknown, timezone: unknown): CronSchedule {
  return { cron: validateCronExpression(cron), timezone: timezone === undefined || timezone === null ? "UTC" : validateTimeZone(timezone) };
}

// Building a Cron parses its pattern; many tasks share a few schedules.
const patternCache = new Map<string, Cron>();
const PATTERN_CACHE_SIZE = 1000;

function pattern(cron: string, timezone: string): Cron {
  const key = `${timezone}\u0000${cron}`;
  let cached = patternCache.get(key);
  if (!cached) {
    cached = new Cron(cron, { ...cronOptions(cron), timezone });
    if (patternCache.size >= PATTERN_CACHE_SIZE) patternCache.delete(patternCache.keys().next().value as string);
    patternCache.set(key, cached);
  }
  return cached;
}

/** The next `count` occurrences strictly after `from`, in order. Fewer when the schedule ends (it never does for 5 fields). */
export function nextCronOccurrences(cron: string, timezone: string, from: Date, count: number): Date[] {
  return pattern(cron, timezone).nextRuns(count, from);
}

export function nextCronOccurrence(cron: string, timezone: string, from: Date): Date | null {
  return pattern(cron, timezone).nextRun(from);
}

/** Up to `count` occurrences at or before `until`, oldest first. */
export function previousCronOccurrences(cron: string, timezone: string, until: Date, count: number): Date[] {
  // previousRuns is exclusive of its start; a slot exactly at `until` is due.
  return pattern(cron, timezone)
    .previousRuns(count, new Date(until.getTime() + 1))
    .reverse();
}

export interface DueSlot {
  at: Date;
  /** `run`: create a run now. `missed`: record a MISSED execution with `reason`. */
  outcome: "run" | "missed";
  reason?: string;
}

export interface DueSlotPlan {
  /** Slots to record, oldest first (at most maxMissedRecorded + maxCatchUpRuns). */
  slots: DueSlot[];
  /** The first slot after `now`; null if the schedule has no future occurrence. */
  nextRunAt: Date | null;
}

/**
 * What to do with a recurring task whose `nextRunAt` has come: its due slots
 * are `nextRunAt` and every occurrence after it up to `now`.
 *
 * The most recent due slot found within `misfireGraceMs` of its time is on
 * time and runs. Every other due slot was missed (the scheduler was down) and
 * the catch-up policy decides: SKIP records them as MISSED, LATEST runs the most
 * recent one, ALL runs the most recent `maxCatchUpRuns`. At most
 * `maxMissedRecorded` MISSED slots are recorded; the oldest of them says how
 * many earlier ones were not.
 */
export function planDueSlots(task: { cron: string; timezone: string; nextRunAt: Date; catchUp: CatchUpPolicy }, now: Date): DueSlotPlan {
  const { cron, timezone, catchUp } = task;
  const first = task.nextRunAt;
  const following = nextCronOccurrence(cron, timezone, first);
  // The common case, one slot due: a single step of the schedule.
  if (!following || following.getTime() > now.getTime()) {
    const onTime = now.getTime() - first.getTime() <= cronLimits.misfireGraceMs;
    const runs = onTime || catchUp !== "SKIP";
    return {
      slots: [runs ? { at: first, outcome: "run" } : { at: first, outcome: "missed", reason: missedReason(catchUp) }],
      nextRunAt: following,
    };
  }

  // Catch-up: only the most recent slots matter, so walk back from now.
  const keep = cronLimits.maxMissedRecorded + cronLimits.maxCatchUpRuns;
  const recent = previousCronOccurrences(cron, timezone, now, keep + 1).filter((slot) => slot.getTime() > first.getTime());
  // `first` itself is due even when it is not on the schedule (a trigger or an update may have set it).
  const overflow = recent.length > keep;
  const due = overflow ? recent.slice(-keep) : [first, ...recent];

  const latest = due[due.length - 1] as Date;
  const latestOnTime = now.getTime() - latest.getTime() <= cronLimits.misfireGraceMs;
  const runCount = catchUp === "ALL" ? cronLimits.maxCatchUpRuns : catchUp === "LATEST" || latestOnTime ? 1 : 0;
  const runFrom = due.length - Math.min(runCount, due.length);
  const missed = due.slice(0, runFrom);
  const recorded = missed.slice(-cronLimits.maxMissedRecorded);
  // Beyond the window walked back: at least `first` and the one occurrence that showed the window was full.
  const notRecorded = missed.length - recorded.length + (overflow ? 2 : 0);

  const slots: DueSlot[] = recorded.map((at) => ({ at, outcome: "missed" as const, reason: missedReason(catchUp) }));
  const oldest = slots[0];
  if (oldest && notRecorded > 0) {
    oldest.reason +=
      `; ${overflow ? "at least " : ""}${notRecorded} earlier slots since ${first.toISOString()} were missed too ` +
      "and are not recorded one by one";
  }
  for (const at of due.slice(runFrom)) slots.push({ at, outcome: "run" });
  return { slots, nextRunAt: nextCronOccurrence(cron, timezone, now) };
}

/** Why a slot of a SKIP_IF_RUNNING task did not run: the same words whether the scheduler or the dispatcher saw it. */
export function overlapSkipReason(busyRun: number): string {
  return `skipped: run ${busyRun} was still running (overlap policy SKIP_IF_RUNNING)`;
}

function missedReason(catchUp: CatchUpPolicy): string {
  return `missed: no scheduler ran at this time (catch-up policy ${catchUp})`;
}

/** The schedule and policies of a recurring task, as a push gives them. */
export interface CronTaskSchedule extends CronSchedule {
  catchUp: CatchUpPolicy;
  overlap: OverlapPolicy;
}

/**
 * The recurring part of a push: null without `cron`. A cron task runs on its
 * schedule, so `delay` and `runAt` are refused with it, and the schedule's
 * options are refused without it.
 */
export function parseCronTaskFields(fields: {
  cron?: string;
  timezone?: string;
  catchUp?: CatchUpPolicy;
  overlap?: OverlapPolicy;
  delay?: unknown;
  runAt?: unknown;
}): CronTaskSchedule | null {
  if (fields.cron === undefined) {
    for (const option of ["timezone", "catchUp", "overlap"] as const) {
      if (fields[option] !== undefined) throw validationError(option, `${option} applies only to recurring tasks: give cron too`);
    }
    return null;
  }
  for (const timing of ["delay", "runAt"] as const) {
    if (fields[timing] !== undefined) {
      throw validationError(timing, `a cron task runs on its schedule: ${timing} cannot be combined with cron`);
    }
  }
  return { ...validateCronSchedule(fields.cron, fields.timezone), catchUp: fields.catchUp ?? "SKIP", overlap: fields.overlap ?? "ALLOW" };
}
