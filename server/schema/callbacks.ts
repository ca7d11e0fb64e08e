/**
 * Callbacks: the CallbackOn enum and the callback fields of Task (the push
 * arguments are in task.ts). See server/services/callbacks.ts.
 */
import { builder } from "./builder.js";

export const CallbackOnEnum = builder.enumType("CallbackOn", {
  description: "Which attempts of a task are reported to its callbackUrl.",
  values: {
    EVERY_ATTEMPT: { description: "Every attempt, as soon as it finishes (retried or not)." },
    FINAL: { description: "Only the last attempt: the one after which nothing is retried." },
  } as const,
});

builder.prismaObjectFields("Task", (t) => ({
  callbackUrl: t.exposeString("callbackUrl", {
    nullable: true,
    description: "Receives a signed JSON summary of each attempt (or only the final one, see callbackOn), POSTed as a CALLBACK task.",
  }),
  callbackOn: t.expose("callbackOn", {
    type: CallbackOnEnum,
    nullable: true,
    description: "Which attempts are reported to callbackUrl; FINAL unless given. Null without a callbackUrl.",
  }),
  onFailureUrl: t.exposeString("onFailureUrl", {
    nullable: true,
    description: "Receives the same summary once, when the task ends FAILED (not for each failed attempt).",
  }),
  sourceTaskId: t.exposeID("sourceTaskId", {
    nullable: true,
    description: "For a CALLBACK task, the task it reports on; for a replay (replayExecution), the task whose request it re-sends.",
  }),
  callbacks: t.prismaConnection({
    type: "Task",
    cursor: "id",
    description: "The CALLBACK tasks that delivered (or are delivering) this task's callbacks, oldest first.",
    defaultSize: 20,
    maxSize: 100,
    resolve: (query, task, _args, context) =>
      context.services.prisma.task.findMany({
        ...query,
        where: { organizationId: task.organizationId, sourceTaskId: task.id, type: "CALLBACK" },
        orderBy: { id: "asc" },
      }),
  }),
}));
