/**
 * Cron: the schedule preview, the recurring fields of Task and Execution, and
 * the mutations that pause, resume and reschedule cron tasks.
 */
import { validationError } from "../errors.js";
import { cronLimits, nextCronOccurrences, validateCronSchedule } from "../services/cron-schedule.js";
import { pauseTask, resumeTask, upcomingSlot, updateTaskSchedule } from "../services/cron-tasks.js";
import { parseIsoDateTime } from "../services/task-input.js";
import { builder } from "./builder.js";

export const CatchUpPolicyEnum = builder.enumType("CatchUpPolicy", {
  description: "What a cron task does with slots that passed while no scheduler was running (downtime).",
  values: {
    SKIP: { description: "Default. Missed slots are recorded as MISSED executions and not run; the schedule resumes with the next slot." },
    LATEST: { description: "The most recent missed slot runs once; older ones are recorded as MISSED." },
    ALL: {
      description: `Every missed slot runs, the most recent ${cronLimits.maxCatchUpRuns} at most; older ones are recorded as MISSED.`,
    },
  } as const,
});

export const OverlapPolicyEnum = builder.enumType("OverlapPolicy", {
  description: "What a cron task does when a slot comes while its previous run has not finished (still running or retrying).",
  values: {
    ALLOW: { description: "Default. The slot runs anyway; runs may overlap." },
    SKIP_IF_RUNNING: { description: "The slot is recorded as a MISSED execution saying which run was still in flight." },
  } as const,
});

builder.prismaObjectFields("Task", (t) => ({
  cron: t.exposeString("cron", {
    nullable: true,
    description: "CRON tasks: the 5-field cron expression (minute hour day-of-month month day-of-week). Null for one-off tasks.",
  }),
  timezone: t.exposeString("timezone", {
    nullable: true,
    description: "CRON tasks: the IANA time zone the expression is evaluated in (default UTC).",
  }),
  nextRunAt: t.field({
    type: "DateTime",
    nullable: true,
    description: "CRON tasks: when the next slot fires. Null while paused, once cancelled, and for one-off tasks.",
    resolve: (task) => upcomingSlot(task),
  }),
  paused: t.exposeBoolean("paused", { description: "CRON tasks: true while paused (pauseTask); no slot fires or is recorded." }),
  catchUp: t.expose("catchUp", { type: CatchUpPolicyEnum, description: "CRON tasks: what happens to slots missed during downtime." }),
  overlap: t.expose("overlap", {
    type: OverlapPolicyEnum,
    description: "CRON tasks: what happens to a slot while the previous run is in flight.",
  }),
  runs: t.exposeInt("runs", {
    description:
      "Slots reached so far: for CRON tasks each run and each MISSED slot (recorded ones) and each manual trigger; the last execution's `run`.",
  }),
}));

builder.prismaObjectFields("Execution", (t) => ({
  run: t.exposeInt("run", {
    description: "The occurrence this attempt belongs to: 1 for one-off tasks; 1, 2, 3… for a cron task's slots (retries share their run).",
  }),
}));

const taskId = { required: true, description: "The cron task's id." } as const;

builder.queryFields((t) => ({
  nextRuns: t.field({
    type: ["DateTime"],
    description:
      "Previews when a cron expression fires: its next occurrences after now (or `after`), as a cron task would run them, " +
      "daylight-saving rules included (a time skipped by a spring-forward change runs at the first valid time after the gap; " +
      "a time that occurs twice runs once).",
    args: {
      cron: t.arg.string({ required: true, description: 'A 5-field cron expression, e.g. "30 2 * * *".' }),
      timezone: t.arg.string({ required: false, description: 'IANA time zone, e.g. "Europe/Berlin". Default UTC.' }),
      count: t.arg.int({
        required: false,
        description: `How many occurrences, ${cronLimits.nextRuns.min}–${cronLimits.nextRuns.max}. Default ${cronLimits.nextRuns.default}.`,
      }),
      after: t.arg({ type: "DateTime", required: false, description: "Start from this time instead of now (ISO 8601)." }),
    },
    resolve: (_root, args) => {
      const schedule = validateCronSchedule(args.cron, args.timezone);
      const count = args.count ?? cronLimits.nextRuns.default;
      if (!Number.isInteger(count) || count < cronLimits.nextRuns.min || count > cronLimits.nextRuns.max) {
        throw validationError("count", `count must be between ${cronLimits.nextRuns.min} and ${cronLimits.nextRuns.max}`);
      }
      const after = args.after == null ? new Date() : parseIsoDateTime(args.after);
      if (!after) throw validationError("after", 'after must be an ISO 8601 date-time with a time zone, like "2026-12-01T09:00:00Z"');
      return nextCronOccurrences(schedule.cron, schedule.timezone, after, count);
    },
  }),
}));

builder.mutationFields((t) => ({
  pauseTask: t.prismaField({
    type: "Task",
    description:
      "Pauses a cron task: no slot fires (nor is recorded as MISSED) until it is resumed. A run in flight finishes; history is kept.",
    args: { id: t.arg.id(taskId) },
    resolve: (_query, _root, args, context) => pauseTask(context.services, context.principal.organizationId, String(args.id)),
  }),
  resumeTask: t.prismaField({
    type: "Task",
    description: "Resumes a paused cron task from its first slot after now; slots that passed while it was paused are not run.",
    args: { id: t.arg.id(taskId) },
    resolve: (_query, _root, args, context) => resumeTask(context.services, context.principal.organizationId, String(args.id)),
  }),
  updateTaskSchedule: t.prismaField({
    type: "Task",
    description:
      "Changes a cron task's schedule or policies; omitted arguments keep their value. nextRunAt is recomputed from now " +
      "(a paused task stays paused); executions so far are kept.",
    args: {
      id: t.arg.id(taskId),
      cron: t.arg.string({ required: false, description: "A new 5-field cron expression." }),
      timezone: t.arg.string({ required: false, description: "A new IANA time zone." }),
      catchUp: t.arg({ type: CatchUpPolicyEnum, required: false, description: "A new catch-up policy." }),
      overlap: t.arg({ type: OverlapPolicyEnum, required: false, description: "A new overlap policy." }),
    },
    resolve: (_query, _root, args, context) => {
      const { id, ...update } = args;
      return updateTaskSchedule(context.services, context.principal.organizationId, String(id), update);
    },
  }),
}));
