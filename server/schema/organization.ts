/** The caller's organisation and its settings. */
import { DomainError } from "../errors.js";
import { requireRole } from "../services/memberships.js";
import { builder } from "./builder.js";

const CONCURRENCY_LIMIT = { min: 1, max: 10_000 } as const;

builder.prismaObject("Organization", {
  description: "Your organisation: everything you create belongs to it, and nobody else sees it.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The organisation's id." }),
    name: t.exposeString("name", { description: "Its name." }),
    slug: t.exposeString("slug", { description: "A URL-safe name." }),
    concurrencyLimit: t.exposeInt("concurrencyLimit", {
      description:
        "Attempts of this organisation in flight at once, across all workers (default 5). Beyond it, attempts wait, " +
        "so one organisation's backlog never delays another's tasks.",
    }),
    inboundRetentionDays: t.exposeInt("inboundRetentionDays", {
      description: "Days inbound webhook events are kept (setInboundRetention); older ones are deleted.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
  }),
});

builder.queryField("organization", (t) =>
  t.prismaField({
    type: "Organization",
    description: "The organisation your API key belongs to, or your session's current organisation.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.organization.findUniqueOrThrow({ ...query, where: { id: context.principal.organizationId } }),
  }),
);

builder.mutationField("setConcurrencyLimit", (t) =>
  t.prismaField({
    type: "Organization",
    description: `Sets how many of your attempts may be in flight at once (${CONCURRENCY_LIMIT.min}–${CONCURRENCY_LIMIT.max}). Workers apply it within 10 seconds. Owners and admins.`,
    args: { limit: t.arg.int({ required: true, description: "The new limit." }) },
    resolve: (query, _root, args, context) => {
      requireRole(context.principal, "ADMIN", "change the concurrency limit");
      if (!Number.isInteger(args.limit) || args.limit < CONCURRENCY_LIMIT.min || args.limit > CONCURRENCY_LIMIT.max) {
        throw new DomainError("VALIDATION_FAILED", `limit must be between ${CONCURRENCY_LIMIT.min} and ${CONCURRENCY_LIMIT.max}`, {
          field: "limit",
        });
      }
      return context.services.prisma.organization.update({
        ...query,
        where: { id: context.principal.organizationId },
        data: { concurrencyLimit: args.limit },
      });
    },
  }),
);
