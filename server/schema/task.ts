/** Task: the type, its queries and its mutations (push, cancel, trigger). */
import { InputFieldBuilder } from "@pothos/core";
import { notFound, validationError } from "../errors.js";
import { MAX_BATCH_TASKS, pushTasks } from "../services/task-batch.js";
import { editPendingTask } from "../services/task-edit.js";
import { limits } from "../services/task-input.js";
import { asUuid, cancelTask, pushTask, triggerTask } from "../services/tasks.js";
import { builder } from "./builder.js";
import { CallbackOnEnum } from "./callbacks.js";
import { CatchUpPolicyEnum, OverlapPolicyEnum } from "./cron.js";

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
    BASE64: { description: "Bytes that are not text (bodyBase64, or an inbound event's binary body): body holds them in base64." },
  } as const,
});

export const TaskRef = builder.prismaObject("Task", {
  description: "An HTTP request Runlater delivers at a time, retried until it succeeds or gives up.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The task's id (a time-ordered UUID)." }),
    type: t.expose("type", { type: TaskTypeEnum, description: "ONE_OFF, or CRON for recurring tasks." }),
    name: t.exposeString("name", { nullable: true, description: "A label for people; not unique." }),
    queue: t.exposeString("queue", { nullable: true, description: "The queue the task belongs to, if any." }),
    priority: t.exposeInt("priority", { description: "Among the due tasks of its queue, higher runs first. Default 0." }),
    debounceKey: t.exposeString("debounceKey", { nullable: true, description: "The debounce key it was pushed with, if any." }),
    throttleKey: t.exposeString("throttleKey", { nullable: true, description: "The throttle key it was pushed with, if any." }),
    status: t.expose("status", { type: TaskStatusEnum, description: "Current status." }),
    url: t.exposeString("url", { description: "The URL the request is sent to." }),
    method: t.expose("method", { type: HttpMethodEnum, description: "The HTTP method." }),
    headers: t.field({
      type: "JSONObject",
      description: "Headers sent with every attempt, besides Runlater's own (Runlater-Signature and friends).",
      resolve: (task) => task.headers as Record<string, unknown>,
    }),
    body: t.exposeString("body", {
      nullable: true,
      description: "The request body exactly as sent (JSON bodies are serialised; BASE64 bodies are the bytes in base64).",
    }),
    bodyEncoding: t.expose("bodyEncoding", {
      type: BodyEncodingEnum,
      nullable: true,
      description: "JSON, RAW or BASE64; null without a body.",
    }),
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
    search: t.string({
      required: false,
      description: "Only tasks whose name or URL contains this text (case-insensitive).",
    }),
  }),
});

/** The tasks a `tasks` list shows: the caller's organisation's, narrowed by the filter. */
function taskListWhere(organizationId: string, filter: typeof TaskFilter.$inferInput | null | undefined) {
  const search = filter?.search?.trim();
  return {
    organizationId,
    status: filter?.status ?? undefined,
    queue: filter?.queue ?? undefined,
    type: filter?.type ?? undefined,
    ...(search
      ? {
          OR: [{ name: { contains: search, mode: "insensitive" as const } }, { url: { contains: search, mode: "insensitive" as const } }],
        }
      : {}),
  };
}

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
        where: taskListWhere(context.principal.organizationId, args.filter),
        orderBy: { id: "desc" },
      }),
    // Counted only when a client asks for totalCount (filterConnectionTotalCount).
    totalCount: (_root, args, context) =>
      context.services.prisma.task.count({ where: taskListWhere(context.principal.organizationId, args.filter) }),
  }),
}));

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * The push fields: pushTask's arguments, and PushTaskInput's fields (a task of
 * a batch push, or its defaults). One definition, so the two cannot drift
 * apart: add a push field here.
 */
function pushFields<Kind extends "Arg" | "InputObject">(t: InputFieldBuilder<Types, Kind>, urlRequired: boolean) {
  return {
    url: t.field({
      type: "String",
      required: urlRequired,
      description: urlRequired ? "http(s) URL to call." : "http(s) URL to call. Required, here or in defaults.",
    }),
    method: t.field({ type: HttpMethodEnum, required: false, description: "HTTP method. Default POST." }),
    headers: t.field({ type: "JSONObject", required: false, description: `Headers to send (at most ${limits.maxHeaders}).` }),
    body: t.field({
      type: "JSON",
      required: false,
      description: "Request body: a JSON value is sent as JSON, a string is sent raw. At most 256 KiB.",
    }),
    bodyBase64: t.field({
      type: "String",
      required: false,
      description:
        "Request body as base64 (standard or URL-safe alphabet), for bytes that are not text: the decoded bytes are sent " +
        "as they are, and signed as sent. At most 256 KiB decoded. Not with body.",
    }),
    delay: t.field({
      type: "Delay",
      required: false,
      description: 'Run after this long: "30s", "5m", "2h", "1d" or seconds (≤ 365 days).',
    }),
    runAt: t.field({ type: "DateTime", required: false, description: "Run at this time (ISO 8601). Not with delay." }),
    retries: t.field({ type: "Int", required: false, description: "Retries after the first attempt, 0–20. Default 3." }),
    timeoutMs: t.field({ type: "Int", required: false, description: "Per-attempt timeout in ms, 1000–300000. Default 30000." }),
    name: t.field({ type: "String", required: false, description: "A label for people." }),
    queue: t.field({ type: "String", required: false, description: "Queue name." }),
    priority: t.field({
      type: "Int",
      required: false,
      description: `Among the due tasks of its queue, higher runs first; ${limits.priority.min} to ${limits.priority.max}. Default 0.`,
    }),
    dedupe: t.field({
      type: "Boolean",
      required: false,
      description:
        "Content-based deduplication: if a task with the same method, URL and body (headers not compared) was pushed " +
        "within dedupeWindow, return it instead of creating one. Not with debounceKey or throttleKey.",
    }),
    dedupeWindow: t.field({
      type: "Delay",
      required: false,
      description: 'With dedupe: how far back to look, up to 7 days. Default "10m".',
    }),
    debounceKey: t.field({
      type: "String",
      required: false,
      description:
        "Debounce: the last push wins. While a task with this key has not started, a push with the key replaces its request " +
        "(url, method, headers, body, retries, timeoutMs, name, priority) and moves it to debounceWindow from now, returning " +
        "the same task; otherwise it creates a task due debounceWindow from now. Not with delay or runAt.",
    }),
    debounceWindow: t.field({
      type: "Delay",
      required: false,
      description: "With debounceKey (required): the quiet time before the task runs, up to 7 days.",
    }),
    throttleKey: t.field({
      type: "String",
      required: false,
      description:
        "Throttle: the first push wins. A push within throttleWindow of the last task with this key returns that task " +
        "(its request unchanged) instead of creating one: at most one task per key per window.",
    }),
    throttleWindow: t.field({ type: "Delay", required: false, description: "With throttleKey (required): the window, up to 7 days." }),
    cron: t.field({
      type: "String",
      required: false,
      description: 'Makes a recurring (CRON) task: a 5-field cron expression, e.g. "*/5 * * * *". Not with delay or runAt.',
    }),
    timezone: t.field({
      type: "String",
      required: false,
      description: 'With cron: its IANA time zone, e.g. "Europe/Berlin". Default UTC.',
    }),
    catchUp: t.field({ type: CatchUpPolicyEnum, required: false, description: "With cron: slots missed in downtime. Default SKIP." }),
    overlap: t.field({ type: OverlapPolicyEnum, required: false, description: "With cron: slots while a run is busy. Default ALLOW." }),
    callbackUrl: t.field({
      type: "String",
      required: false,
      description: "Receives a signed JSON summary of the attempts (see callbackOn).",
    }),
    callbackOn: t.field({ type: CallbackOnEnum, required: false, description: "EVERY_ATTEMPT or FINAL (default); needs callbackUrl." }),
    onFailureUrl: t.field({ type: "String", required: false, description: "Receives the same summary once, if the task ends FAILED." }),
  };
}

const PushTaskInput = builder.inputType("PushTaskInput", {
  description: "A task of a batch push (pushTasks), or the defaults its tasks are merged over: the fields of pushTask.",
  fields: (t) => pushFields(t, false),
});

const PushTasksPayload = builder.simpleObject("PushTasksPayload", {
  description: "The answer of a batch push.",
  fields: (t) => ({
    ids: t.idList({ description: "The tasks' ids, in the order given (what REST answers: the tasks themselves are GraphQL only)." }),
    tasks: t.field({
      type: [TaskRef],
      description:
        "One task per pushed task, in the order given: the task created, or for a dedupe, throttle or debounce match the " +
        "existing task.",
    }),
  }),
});

builder.mutationFields((t) => ({
  pushTasks: t.field({
    type: PushTasksPayload,
    description:
      `Pushes up to ${MAX_BATCH_TASKS} tasks at once, all or none: each task's fields are merged over \`defaults\` ` +
      "(headers are merged by name; a task's own delay, runAt or debounceKey replaces the defaults' timing). One invalid task " +
      "fails the whole batch with an error naming it, e.g. field `tasks[3].url`. Answers the tasks in the order given " +
      "(REST, POST /api/v1/tasks/batch: their ids). An Idempotency-Key header is refused: give the tasks `dedupe` instead.",
    args: {
      tasks: t.arg({ type: [PushTaskInput], required: true, description: `The tasks, 1 to ${MAX_BATCH_TASKS}.` }),
      defaults: t.arg({ type: PushTaskInput, required: false, description: "Fields every task gets unless it gives its own." }),
    },
    resolve: async (_root, args, context) => {
      // Not silently ignored: a client retrying a batch after a timeout would write up to 1,000 tasks twice.
      if (context.request.headers.get("idempotency-key") !== null) {
        throw validationError(
          "Idempotency-Key",
          "Idempotency-Key is not supported on batch pushes: give the tasks dedupe: true, so that a repeated batch finds them",
        );
      }
      const pushed = await pushTasks(context.services, context.principal.organizationId, args.tasks, args.defaults);
      return { ids: pushed.map(({ task }) => task.id), tasks: pushed.map(({ task }) => task) };
    },
  }),
  // A plain field, not a prismaField: the resolver writes with SQL and answers the row it wrote, so the Prisma
  // query that prismaField derives from the selection on every call (~8 % of a push's CPU) would go unused.
  // Relations asked of the answer (executions) are loaded by the Task type itself.
  pushTask: t.field({
    type: TaskRef,
    description:
      "Queues an HTTP request. Give `delay` or `runAt` to schedule it; without either it runs now. " +
      "Send the `Idempotency-Key` header (or `idempotencyKey`) to make repeats within 24 h return the first task.",
    args: {
      ...pushFields(new InputFieldBuilder(builder, "Arg"), true),
      idempotencyKey: t.arg.string({ required: false, description: "Same as the Idempotency-Key header." }),
    },
    resolve: async (_root, args, context) => {
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
  updateTask: t.prismaField({
    type: "Task",
    description:
      "Edits a one-off task that has not started (SCHEDULED, its first attempt still pending): its request, label, delivery " +
      "options and, with delay or runAt, its due time. Omitted arguments keep their value; the queue and callbacks stay as " +
      "pushed. A task that has started (or a cron task) answers CONFLICT: duplicate it instead.",
    args: {
      id: t.arg.id({ required: true, description: "The task's id." }),
      url: t.arg.string({ required: false, description: "http(s) URL to call." }),
      method: t.arg({ type: HttpMethodEnum, required: false, description: "HTTP method." }),
      headers: t.arg({ type: "JSONObject", required: false, description: "Headers to send (replace all of them; at most 50)." }),
      body: t.arg({ type: "JSON", required: false, description: "Request body: a JSON value is sent as JSON, a string raw." }),
      bodyBase64: t.arg.string({ required: false, description: "Request body as base64: the decoded bytes are sent. Not with body." }),
      name: t.arg.string({ required: false, description: "A label for people." }),
      retries: t.arg.int({ required: false, description: "Retries after the first attempt, 0–20." }),
      timeoutMs: t.arg.int({ required: false, description: "Per-attempt timeout in ms, 1000–300000." }),
      priority: t.arg.int({ required: false, description: "Among the due tasks of its queue, higher runs first; -1000 to 1000." }),
      delay: t.arg({ type: "Delay", required: false, description: "Run this long from now instead of at the current due time." }),
      runAt: t.arg({ type: "DateTime", required: false, description: "Run at this time instead (ISO 8601). Not with delay." }),
    },
    resolve: (_query, _root, args, context) => {
      const { id, ...edit } = args;
      return editPendingTask(context.services, context.principal.organizationId, String(id), edit);
    },
  }),
}));
