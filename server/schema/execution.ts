/** Execution: one delivery attempt of a task, and the queries that read attempts. */
import { notFound } from "../errors.js";
import { asUuid } from "../services/tasks.js";
import { builder } from "./builder.js";

export const ExecutionStatusEnum = builder.enumType("ExecutionStatus", {
  description: "Where an attempt is in its life.",
  values: {
    MISSED: { description: "A cron slot that did not run: missed during downtime (catch-up policy) or skipped by the overlap policy." },
    PENDING: { description: "Waiting for its due time (scheduledFor), or for its queue to admit it." },
    RUNNING: { description: "The request is in flight." },
    SUCCEEDED: { description: "The endpoint answered 2xx." },
    FAILED: { description: "A non-2xx answer, a network error, or the worker running it was lost." },
    TIMED_OUT: { description: "No complete answer within the task's timeoutMs." },
    CANCELLED: { description: "The task was cancelled before this attempt ran." },
  } as const,
});

export const ExecutionRef = builder.prismaObject("Execution", {
  description: "One attempt to deliver a task: the request's timing and the endpoint's answer.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The execution's id; also sent as the Runlater-Execution-Id header." }),
    taskId: t.exposeID("taskId", { description: "The task this attempt belongs to." }),
    task: t.relation("task", { description: "The task this attempt belongs to." }),
    attempt: t.exposeInt("attempt", { description: "1 for the first attempt, 2 for the first retry, and so on." }),
    status: t.expose("status", { type: ExecutionStatusEnum, description: "Current status." }),
    scheduledFor: t.expose("scheduledFor", { type: "DateTime", description: "When the attempt was due." }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true, description: "When the request started." }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true, description: "When the attempt ended." }),
    durationMs: t.exposeInt("durationMs", { nullable: true, description: "How long the request took, in milliseconds." }),
    responseStatus: t.exposeInt("responseStatus", { nullable: true, description: "The endpoint's HTTP status, if it answered." }),
    responseHeaders: t.field({
      type: "JSONObject",
      nullable: true,
      description: "The response headers (lower-case names).",
      resolve: (execution) => (execution.responseHeaders as Record<string, unknown> | null) ?? null,
    }),
    responseBody: t.exposeString("responseBody", { nullable: true, description: "The first 64 KiB of the response body." }),
    responseBodyTruncated: t.exposeBoolean("responseBodyTruncated", {
      description: "True when the response body was longer than 64 KiB and responseBody holds only its beginning.",
    }),
    error: t.exposeString("error", { nullable: true, description: "Why the attempt failed, in words." }),
    waitingReason: t.exposeString("waitingReason", {
      nullable: true,
      description: "Why the attempt waited past its due time, e.g. an open circuit breaker for its host (kept after it ran).",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the attempt was scheduled." }),
  }),
});

builder.queryFields((t) => ({
  execution: t.prismaField({
    type: "Execution",
    description: "One attempt, by id.",
    args: { id: t.arg.id({ required: true, description: "The execution's id." }) },
    resolve: async (query, _root, args, context) => {
      const execution = await context.services.prisma.execution.findFirst({
        ...query,
        where: { id: asUuid(String(args.id), "execution"), organizationId: context.principal.organizationId },
      });
      if (!execution) throw notFound("execution", String(args.id));
      return execution;
    },
  }),
  executions: t.prismaConnection({
    type: "Execution",
    cursor: "id",
    description: "A task's attempts, oldest first (the same list as Task.executions).",
    defaultSize: 20,
    maxSize: 100,
    args: { taskId: t.arg.id({ required: true, description: "The task's id." }) },
    resolve: async (query, _root, args, context) => {
      const taskId = asUuid(String(args.taskId));
      const organizationId = context.principal.organizationId;
      const task = await context.services.prisma.task.findFirst({ where: { id: taskId, organizationId }, select: { id: true } });
      if (!task) throw notFound("task", taskId);
      return context.services.prisma.execution.findMany({ ...query, where: { taskId, organizationId }, orderBy: { id: "asc" } });
    },
  }),
}));
