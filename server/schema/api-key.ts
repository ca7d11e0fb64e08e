/** API keys: list, create (the secret is shown once), revoke. */
import { createApiKey, revokeApiKey } from "../services/api-keys.js";
import { requireRole } from "../services/memberships.js";
import { asUuid } from "../services/tasks.js";
import { builder } from "./builder.js";

const ApiKeyRef = builder.prismaObject("ApiKey", {
  description: "A key that authenticates API requests as your organisation. Its secret is never shown again after creation.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The key's id." }),
    name: t.exposeString("name", { description: "What the key is for." }),
    prefix: t.exposeString("prefix", { description: "The key's first characters, to recognise it." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the key was created." }),
    lastUsedAt: t.expose("lastUsedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the key last authenticated a request (to the minute).",
    }),
    revokedAt: t.expose("revokedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the key was revoked; revoked keys authenticate nothing.",
    }),
  }),
});

const CreatedApiKey = builder.simpleObject("CreatedApiKey", {
  description: "A new API key and its secret. Store the secret now: it cannot be shown again.",
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, description: "The key." }),
    secret: t.string({ description: "The bearer token: send it as `Authorization: Bearer <secret>`." }),
  }),
});

builder.queryField("apiKeys", (t) =>
  t.prismaField({
    type: ["ApiKey"],
    description: "Your organisation's API keys, newest first, revoked ones included. Owners and admins.",
    resolve: (query, _root, _args, context) => {
      requireRole(context.principal, "ADMIN", "see API keys");
      return context.services.prisma.apiKey.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { createdAt: "desc" },
      });
    },
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    description: "Creates an API key. The answer holds its secret, shown this once. Owners and admins.",
    args: { name: t.arg.string({ required: true, description: "What the key is for." }) },
    resolve: async (_root, args, context) => {
      requireRole(context.principal, "ADMIN", "create API keys");
      const { apiKey, secret } = await createApiKey(context.services.pool, context.principal.organizationId, { name: args.name });
      return { apiKey, secret };
    },
  }),
  revokeApiKey: t.prismaField({
    type: "ApiKey",
    description: "Revokes an API key at once. Requests using it are refused with 401. Owners and admins.",
    args: { id: t.arg.id({ required: true, description: "The key's id." }) },
    resolve: async (_query, _root, args, context) => {
      requireRole(context.principal, "ADMIN", "revoke API keys");
      const revoked = await revokeApiKey(context.services.pool, context.principal.organizationId, asUuid(String(args.id), "API key"));
      // Other server processes forget it when the revocation's notification reaches them.
      context.services.apiKeys.forget([revoked.id]);
      return revoked;
    },
  }),
}));
