/**
 * The failure inbox: FAILED tasks, re-running them, and replaying an
 * execution's request. See server/services/failures.ts for the semantics.
 */
import { failedTasksWhere, MAX_RETRY_IDS, replayExecution, retryAllFailed, retryTasks } from "../services/failures.js";
import { builder } from "./builder.js";

builder.queryFields((t) => ({
  failedTasks: t.prismaConnection({
    type: "Task",
    cursor: "id",
    description:
      "The failure inbox: your organisation's tasks whose final status is FAILED (retries exhausted, or a final error), " +
      "most recently failed first. Includes CALLBACK tasks whose deliveries failed.",
    defaultSize: 20,
    maxSize: 100,
    args: {
      queue: t.arg.string({ required: false, description: "Only tasks in this queue." }),
      since: t.arg({ type: "DateTime", required: false, description: "Only tasks that failed at or after this time (completedAt)." }),
      until: t.arg({ type: "DateTime", required: false, description: "Only tasks that failed before this time (completedAt)." }),
    },
    resolve: (query, _root, args, context) =>
      context.services.prisma.task.findMany({
        ...query,
        where: failedTasksWhere(context.principal.organizationId, args),
        orderBy: [{ completedAt: "desc" }, { id: "desc" }],
      }),
    totalCount: (_root, args, context) =>
      context.services.prisma.task.count({ where: failedTasksWhere(context.principal.organizationId, args) }),
  }),
}));

builder.mutationFields((t) => ({
  retryTasks: t.prismaField({
    type: ["Task"],
    description:
      "Re-runs FAILED tasks, all or none: each starts a new run, due now, with its full retry budget (attempts count " +
      "from 1 in each run), and is SCHEDULED again. " +
      "An unknown id answers NOT_FOUND, a task that is not FAILED answers CONFLICT, naming the id.",
    args: {
      ids: t.arg.idList({ required: true, description: `The tasks to re-run, at most ${MAX_RETRY_IDS}.` }),
    },
    resolve: (_query, _root, args, context) => retryTasks(context.services, context.principal.organizationId, args.ids.map(String)),
  }),
  retryAllFailed: t.int({
    description: "Re-runs every FAILED task of your organisation (in `queue` when given), as retryTasks does. Returns how many.",
    args: { queue: t.arg.string({ required: false, description: "Only tasks in this queue." }) },
    resolve: (_root, args, context) => retryAllFailed(context.services, context.principal.organizationId, args.queue ?? null),
  }),
  replayExecution: t.prismaField({
    type: "Execution",
    description:
      "Re-sends exactly the request an execution sent (method, URL, headers, body; a fresh signature) as a new one-off task, " +
      "due now, without retries or callbacks; its sourceTaskId names the replayed task. Returns the replay's execution. " +
      "The replayed task is left as it was.",
    args: { id: t.arg.id({ required: true, description: "The execution to replay (one that sent its request)." }) },
    resolve: async (query, _root, args, context) => {
      const id = await replayExecution(context.services, context.principal.organizationId, String(args.id));
      return context.services.prisma.execution.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
