/**
 * Live updates: subscriptions fed by the process's LiveEventHub (events from
 * every process, through PostgreSQL), and the overview chart's activity query.
 * Every subscription is scoped to the caller's organisation before any filter
 * applies, so a filter naming another organisation's task or queue sees nothing.
 */
import { notFound } from "../errors.js";
import type { LiveEventHub } from "../realtime/live-event-hub.js";
import { type ACTIVITY_KINDS, type ActivityBucket, type ActivityEvent, activityStats } from "../services/live-events.js";
import { asUuid } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";
import { ExecutionRef, ExecutionStatusEnum } from "./execution.js";
import { QueueRef } from "./queue.js";
import { TaskRef } from "./task.js";

const ActivityKindEnum = builder.enumType("ActivityKind", {
  description: "What happened, in the organisation's activity feed.",
  values: {
    TASK_CREATED: { description: "A task was pushed (or created by cron, a callback or a batch)." },
    TASK_CANCELLED: { description: "A task was cancelled." },
    EXECUTION_SCHEDULED: { description: "A task's first attempt (or a cron run's) was scheduled." },
    EXECUTION_RETRYING: { description: "An attempt failed and a retry was scheduled." },
    EXECUTION_STARTED: { description: "An attempt started: the request is in flight." },
    EXECUTION_SUCCEEDED: { description: "An attempt succeeded (2xx)." },
    EXECUTION_FAILED: { description: "An attempt failed (non-2xx, network error, or lost worker)." },
    EXECUTION_TIMED_OUT: { description: "An attempt got no complete answer in time." },
    EXECUTION_CANCELLED: { description: "A pending attempt was cancelled with its task." },
    EXECUTION_MISSED: { description: "A cron slot was recorded as missed." },
  } satisfies Record<(typeof ACTIVITY_KINDS)[number], { description: string }>,
});

const ActivityEventRef = builder.objectRef<ActivityEvent>("ActivityEvent").implement({
  description: "One line of the live activity feed.",
  fields: (t) => ({
    kind: t.field({ type: ActivityKindEnum, description: "What happened.", resolve: (event) => event.kind }),
    at: t.field({ type: "DateTime", description: "When it happened.", resolve: (event) => event.at }),
    task: t.field({ type: TaskRef, description: "The task concerned.", resolve: (event) => event.task }),
    execution: t.field({
      type: ExecutionRef,
      nullable: true,
      description: "The attempt concerned, for EXECUTION_* kinds.",
      resolve: (event) => event.execution,
    }),
  }),
});

const ActivityBucketRef = builder.objectRef<ActivityBucket>("ActivityBucket").implement({
  description: "Attempts that finished within one time bucket.",
  fields: (t) => ({
    start: t.field({ type: "DateTime", description: "The bucket's start (aligned to whole bucket widths).", resolve: (b) => b.start }),
    succeeded: t.exposeInt("succeeded", { description: "Attempts that ended SUCCEEDED." }),
    failed: t.exposeInt("failed", { description: "Attempts that ended FAILED or TIMED_OUT." }),
    total: t.exposeInt("total", { description: "All attempts that finished, including cancelled and missed ones." }),
  }),
});

export function liveEvents(context: GraphQLContext): LiveEventHub {
  if (!context.live) throw new Error("live updates are not served by this GraphQL server");
  return context.live;
}

builder.queryFields((t) => ({
  activityStats: t.field({
    type: [ActivityBucketRef],
    description: "Finished attempts per time bucket over the last `sinceMinutes`, oldest bucket first, empty buckets included.",
    args: {
      sinceMinutes: t.arg.int({ defaultValue: 60, required: false, description: "How far back, in minutes (1–10080). Default 60." }),
      bucketMinutes: t.arg.int({
        defaultValue: 1,
        required: false,
        description: "Bucket width in minutes (1–1440); at most 1440 buckets. Default 1.",
      }),
    },
    resolve: (_root, args, context) =>
      activityStats(context.services.pool, context.principal.organizationId, {
        sinceMinutes: args.sinceMinutes ?? 60,
        bucketMinutes: args.bucketMinutes ?? 1,
      }),
  }),
}));

builder.subscriptionFields((t) => ({
  executionUpdates: t.field({
    type: ExecutionRef,
    description:
      "Every attempt of your organisation as it is created and each time its status changes, narrowed by the given filters " +
      "(all must hold). Fields other than status show the attempt as it is when the event is sent.",
    args: {
      taskId: t.arg.id({ required: false, description: "Only attempts of this task." }),
      queue: t.arg.string({ required: false, description: "Only attempts of tasks in this queue." }),
      status: t.arg({ type: [ExecutionStatusEnum], required: false, description: "Only attempts entering one of these statuses." }),
    },
    subscribe: (_root, args, context) => {
      const taskId = args.taskId ? asUuid(String(args.taskId), "task") : null;
      const statuses = args.status?.length ? new Set<string>(args.status) : null;
      return liveEvents(context).subscribe("executions", context.principal.organizationId, {
        accepts: (execution) =>
          (!taskId || execution.taskId === taskId) &&
          (!args.queue || execution.task.queue === args.queue) &&
          (!statuses || statuses.has(execution.status)),
        statuses: statuses ?? undefined,
        onOverflow: context.dropSlowConsumer,
      });
    },
    resolve: (execution) => execution,
  }),
  taskUpdated: t.field({
    type: TaskRef,
    description: "The task each time it changes (status, attempts, schedule, pause).",
    args: { id: t.arg.id({ required: true, description: "The task's id." }) },
    subscribe: async (_root, args, context) => {
      const id = asUuid(String(args.id), "task");
      const organizationId = context.principal.organizationId;
      // Subscribed before the check, so no change between the two is missed.
      const changes = liveEvents(context).subscribe("task", organizationId, { key: id, onOverflow: context.dropSlowConsumer });
      const task = await context.services.prisma.task.findFirst({ where: { id, organizationId }, select: { id: true } });
      if (!task) {
        await changes.return?.();
        throw notFound("task", id);
      }
      return changes;
    },
    resolve: (task) => task,
  }),
  queueStats: t.field({
    type: QueueRef,
    description:
      "The queue with its depth: first as it is now, then as it changes (at most one event per 250 ms; the latest state always arrives).",
    args: { name: t.arg.string({ required: true, description: "The queue's name." }) },
    subscribe: async (_root, args, context) => {
      const live = liveEvents(context);
      const organizationId = context.principal.organizationId;
      const changes = live.subscribe("queue", organizationId, { key: args.name, onOverflow: context.dropSlowConsumer });
      try {
        return startingWith(await live.loadQueue(organizationId, args.name), changes);
      } catch (error) {
        await changes.return?.();
        throw error;
      }
    },
    resolve: (queue) => queue,
  }),
  orgActivity: t.field({
    type: ActivityEventRef,
    description: "Your organisation's activity as it happens: tasks created and cancelled, attempts scheduled, started and finished.",
    subscribe: (_root, _args, context) =>
      liveEvents(context).subscribe("activity", context.principal.organizationId, { onOverflow: context.dropSlowConsumer }),
    resolve: (event) => event,
  }),
}));

/**
 * `stream` once `check` passes (the subscription names something of the
 * caller's organisation); when it throws, the stream ends and the error is
 * the subscription's. Subscribe before checking, so nothing in between is missed.
 */
export async function checkedStream<T>(stream: AsyncIterableIterator<T>, check: () => Promise<unknown>): Promise<AsyncIterableIterator<T>> {
  try {
    await check();
    return stream;
  } catch (error) {
    await stream.return?.();
    throw error;
  }
}

async function* startingWith<T>(first: T, rest: AsyncIterableIterator<T>): AsyncGenerator<T> {
  try {
    yield first;
    yield* rest;
  } finally {
    await rest.return?.();
  }
}
