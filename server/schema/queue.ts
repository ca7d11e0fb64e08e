/** Queues: their settings and depth, and the mutations that tune, pause and drain them. */

import {
  getQueue,
  QUEUE_COLUMNS,
  type QueueRow,
  type QueueStats,
  queueLimits,
  queueStats,
  setQueuePaused,
  updateQueue,
} from "../services/queues.js";
import { cancelQueuedTasks } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";

type QueueView = QueueRow & { depth: QueueStats };

const QueueDepthRef = builder.simpleObject("QueueDepth", {
  description: "How many of the queue's tasks are in each state.",
  fields: (t) => ({
    scheduled: t.int({ description: "Tasks waiting to run (including those waiting for a free slot or a retry)." }),
    running: t.int({ description: "Tasks with an attempt in flight." }),
    failed: t.int({ description: "Tasks that ended FAILED." }),
  }),
});

export const QueueRef = builder.objectRef<QueueView>("Queue").implement({
  description:
    "A named queue of tasks. Its tasks start in order (higher priority first, then due time, then push order), " +
    "at most `concurrency` at a time; a task keeps its slot through its retries.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The queue's name, as given in a task's `queue` field." }),
    concurrency: t.exposeInt("concurrency", { description: "Tasks in flight at once; 1 (the default) is strict FIFO." }),
    rateLimit: t.exposeInt("rateLimit", {
      nullable: true,
      description: "At most this many task starts per ratePeriodSeconds; null for none.",
    }),
    ratePeriodSeconds: t.exposeInt("ratePeriodSeconds", { description: "The window of the rate limit, in seconds." }),
    paused: t.exposeBoolean("paused", { description: "A paused queue starts nothing; its tasks wait, in order." }),
    depth: t.field({ type: QueueDepthRef, description: "Task counts by state.", resolve: (queue) => queue.depth }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the queue was first used." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When its settings last changed." }),
  }),
});

async function withDepth(context: GraphQLContext, queues: QueueRow[]): Promise<QueueView[]> {
  const stats = await queueStats(
    context.services.pool,
    context.principal.organizationId,
    queues.map((queue) => queue.name),
  );
  return queues.map((queue) => ({ ...queue, depth: stats.get(queue.name) ?? { scheduled: 0, running: 0, failed: 0 } }));
}

async function withOneDepth(context: GraphQLContext, queue: QueueRow): Promise<QueueView> {
  return (await withDepth(context, [queue]))[0] as QueueView;
}

const queueName = { required: true, description: "The queue's name." } as const;

builder.queryFields((t) => ({
  queues: t.field({
    type: [QueueRef],
    description: "Your organisation's queues, by name, with their depth.",
    resolve: async (_root, _args, context) => {
      const { rows } = await context.services.pool.query<QueueRow>(
        `SELECT ${QUEUE_COLUMNS} FROM queues WHERE organization_id = $1 ORDER BY name`,
        [context.principal.organizationId],
      );
      return withDepth(context, rows);
    },
  }),
  queue: t.field({
    type: QueueRef,
    description: "One queue, by name.",
    args: { name: t.arg.string(queueName) },
    resolve: async (_root, args, context) =>
      withOneDepth(context, await getQueue(context.services.pool, context.principal.organizationId, args.name)),
  }),
}));

builder.mutationFields((t) => ({
  updateQueue: t.field({
    type: QueueRef,
    description: "Changes a queue's settings (creating the queue if it does not exist). Omitted settings stay as they are.",
    args: {
      name: t.arg.string(queueName),
      concurrency: t.arg.int({
        required: false,
        description: `Tasks in flight at once, ${queueLimits.concurrency.min}–${queueLimits.concurrency.max}.`,
      }),
      rateLimit: t.arg.int({
        required: false,
        description: `At most this many task starts per ratePeriodSeconds, ${queueLimits.rateLimit.min}–${queueLimits.rateLimit.max}.`,
      }),
      ratePeriodSeconds: t.arg.int({ required: false, description: "The rate limit's window in seconds (default 1)." }),
      removeRateLimit: t.arg.boolean({ required: false, description: "True to remove the rate limit." }),
    },
    resolve: async (_root, args, context) => {
      const queue = await updateQueue(context.services.pool, context.principal.organizationId, args.name, {
        concurrency: args.concurrency,
        rateLimit: args.rateLimit,
        ratePeriodSeconds: args.ratePeriodSeconds,
        clearRateLimit: args.removeRateLimit ?? false,
      });
      return withOneDepth(context, queue);
    },
  }),
  pauseQueue: t.field({
    type: QueueRef,
    description: "Pauses a queue: nothing more starts until it is resumed. Attempts already in flight finish.",
    args: { name: t.arg.string(queueName) },
    resolve: async (_root, args, context) =>
      withOneDepth(context, await setQueuePaused(context.services.pool, context.principal.organizationId, args.name, true)),
  }),
  resumeQueue: t.field({
    type: QueueRef,
    description: "Resumes a paused queue; its tasks start again in order.",
    args: { name: t.arg.string(queueName) },
    resolve: async (_root, args, context) =>
      withOneDepth(context, await setQueuePaused(context.services.pool, context.principal.organizationId, args.name, false)),
  }),
  cancelQueuedTasks: t.int({
    description: "Cancels every task of the queue that has not started yet (SCHEDULED). Returns how many were cancelled.",
    args: { queue: t.arg.string({ required: true, description: "The queue's name." }) },
    resolve: (_root, args, context) => cancelQueuedTasks(context.services, context.principal.organizationId, args.queue),
  }),
}));
