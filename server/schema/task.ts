/** Task: the type, its queries and its mutations (push, cancel, trigger). */
import { notFound } from "../errors.js";
import { limits } from "../services/task-input.js";
import { asUuid, cancelTask, pushTask, triggerTask } from "../services/tasks.js";
import { builder } from "./builder.js";

export const TaskStatusEnum = builder.enumType("TaskStatus", {
  description: "Where a task is in its life.",
  values: {
    SCHEDULED: { description: "Waiting for its next attempt's due time." },
    RUNNING: { description: "An attempt is in flight." },
    SUCCEEDED: { description: "An attempt got a 2xx response." },
    FAILED: { description: "Retries are exhausted, or the last attempt failed in a way retrying cannot fix (a 4xx)." },
    CANCELLED: { description: "Cancelled by a user; nothing more will run." },
  } as const,
});

export const TaskTypeEnum = builder.enumType("TaskType", {
  description: "What schedules the task's attempts.",
  values: {
    ONE_OFF: { description: "Runs once, at runAt." },
    CRON: { description: "Recurs on a cron schedule." },
    CALLBACK: { description: "Delivers a callback (callbackUrl or onFailureUrl) about another task." },
  } as const,
});

export const HttpMethodEnum = builder.enumType("HttpMethod", {
  description: "The HTTP method of the request a task sends.",
  values: ["GET", "POST", "PUT", "PATCH", "DELETE"] as const,
});

export const BodyEncodingEnum = builder.enumType("BodyEncoding", {
  description: "How the stored body is sent.",
  values: {
    JSON: { description: "A JSON document, sent with content-type: application/json unless a header says otherwise." },
    RAW: { description: "A string sent exactly as given." },
  } as const,
});

export const TaskRef = builder.prismaObject("Task", {
  description: "An HTTP request Runlater delivers at a time, retried until it succeeds or gives up.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The task's id (a time-ordered UUID)." }),
    type: t.expose("type", { type: TaskTypeEnum, description: "ONE_OFF, or CRON for recurring tasks." }),
    name: t.exposeString("name", { nullable: true, description: "A label for people; not unique." }),
    queue: t.exposeString("queue", { nullable: true, description: "The queue the task belongs to, if any." }),
    status: t.expose("status", { type: TaskStatusEnum, description: "Current status." }),
    url: t.exposeString("url", { description: "The URL the request is sent to." }),
    method: t.expose("method", { type: HttpMethodEnum, description: "The HTTP method." }),
    headers: t.field({
      type: "JSONObject",
      description: "Headers sent with every attempt, besides Runlater's own (Runlater-Signature and friends).",
      resolve: (task) => task.headers as Record<string, unknown>,
    }),
    body: t.exposeString("body", { nullable: true, description: "The request body exactly as sent (JSON bodies are serialised)." }),
    bodyEncoding: t.expose("bodyEncoding", { type: BodyEncodingEnum, nullable: true, description: "JSON or RAW; null without a body." }),
    retries: t.exposeInt("retries", { description: "Retries allowed after the first attempt." }),
    timeoutMs: t.exposeInt("timeoutMs", { description: "Time allowed for each attempt, in milliseconds." }),
    runAt: t.expose("runAt", { type: "DateTime", description: "When the first attempt is due." }),
    attempts: t.exposeInt("attempts", { description: "Attempts started so far." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the task was pushed." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the task last changed." }),
    completedAt: t.expose("completedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the task reached SUCCEEDED, FAILED or CANCELLED.",
    }),
    executions: t.relatedConnection("executions", {
      cursor: "id",
      description: "The task's attempts, oldest first.",
      query: () => ({ orderBy: { id: "asc" } }),
    }),
  }),
});

const TaskFilter = builder.inputType("TaskFilter", {
  description: "Narrows a task list. All given conditions must hold.",
  fields: (t) => ({
    status: t.field({ type: TaskStatusEnum, required: false, description: "Only tasks with this status." }),
    queue: t.string({ required: false, description: "Only tasks in this queue." }),
    type: t.field({ type: TaskTypeEnum, required: false, description: "Only tasks of this type." }),
  }),
});

builder.queryFields((t) => ({
  task: t.prismaField({
    type: "Task",
    description: "One task of your organisation, by id.",
    args: { id: t.arg.id({ required: true, description: "The task's id." }) },
    resolve: async (query, _root, args, context) => {
      const task = await context.services.prisma.task.findFirst({
        ...query,
        where: { id: asUuid(String(args.id)), organizationId: context.principal.organizationId },
      });
      if (!task) throw notFound("task", String(args.id));
      return task;
    },
  }),
  tasks: t.prismaConnection({
    type: "Task",
    cursor: "id",
    description: "Your organisation's tasks, newest first.",
    defaultSize: 20,
    maxSize: 100,
    args: { filter: t.arg({ type: TaskFilter, required: false, description: "Conditions on the tasks to list." }) },
    resolve: (query, _root, args, context) =>
      context.services.prisma.task.findMany({
        ...query,
        where: {
          organizationId: context.principal.organizationId,
          status: args.filter?.status ?? undefined,
          queue: args.filter?.queue ?? undefined,
          type: args.filter?.type ?? undefined,
        },
        orderBy: { id: "desc" },
      }),
  }),
}));

builder.mutationFields((t) => ({
  pushTask: t.prismaField({
    type: "Task",
    description:
      "Queues an HTTP request. Give `delay` or `runAt` to schedule it; without either it runs now. " +
      "Send the `Idempotency-Key` header (or `idempotencyKey`) to make repeats within 24 h return the first task.",
    args: {
      url: t.arg.string({ required: true, description: "http(s) URL to call." }),
      method: t.arg({ type: HttpMethodEnum, required: false, description: "HTTP method. Default POST." }),
      headers: t.arg({ type: "JSONObject", required: false, description: `Headers to send (at most ${limits.maxHeaders}).` }),
      body: t.arg({
        type: "JSON",
        required: false,
        description: "Request body: a JSON value is sent as JSON, a string is sent raw. At most 256 KiB.",
      }),
      delay: t.arg({
        type: "Delay",
        required: false,
        description: 'Run after this long: "30s", "5m", "2h", "1d" or seconds (≤ 365 days).',
      }),
      runAt: t.arg({ type: "DateTime", required: false, description: "Run at this time (ISO 8601). Not with delay." }),
      retries: t.arg.int({ required: false, description: "Retries after the first attempt, 0–20. Default 3." }),
      timeoutMs: t.arg.int({ required: false, description: "Per-attempt timeout in ms, 1000–300000. Default 30000." }),
      name: t.arg.string({ required: false, description: "A label for people." }),
      queue: t.arg.string({ required: false, description: "Queue name." }),
      idempotencyKey: t.arg.string({ required: false, description: "Same as the Idempotency-Key header." }),
    },
    resolve: async (_query, _root, args, context) => {
      const { idempotencyKey, ...fields } = args;
      const { task } = await pushTask(context.services, context.principal.organizationId, fields, {
        idempotencyKey: idempotencyKey ?? context.request.headers.get("idempotency-key"),
      });
      return task;
    },
  }),
  cancelTask: t.prismaField({
    type: "Task",
    description: "Cancels a task that has not finished. Its pending attempt never runs; an attempt in flight is not retried.",
    args: { id: t.arg.id({ required: true, description: "The task's id." }) },
    resolve: (_query, _root, args, context) => cancelTask(context.services, context.principal.organizationId, String(args.id)),
  }),
  triggerTask: t.prismaField({
    type: "Task",
    description: "Runs a SCHEDULED task's pending attempt now instead of at its due time.",
    args: { id: t.arg.id({ required: true, description: "The task's id." }) },
    resolve: (_query, _root, args, context) => triggerTask(context.services, context.principal.organizationId, String(args.id)),
  }),
}));
