/** The organisation's public status page, and the resources it makes public (with their badges). */
import {
  badgeUrls,
  deleteStatusPage,
  getStatusPage,
  publishResource,
  STATUS_PATH_PREFIX,
  setStatusPage,
  unpublishResource,
} from "../services/status-pages.js";
import { ResourceTypeEnum } from "./alerts.js";
import { builder } from "./builder.js";
import { publicBaseUrl } from "./public-url.js";

builder.prismaObject("StatusPage", {
  description: "Your organisation's public status page: server-rendered HTML listing the resources you publish.",
  fields: (t) => ({
    slug: t.exposeString("slug", { description: "The page's address: /status/<slug>." }),
    url: t.string({
      description: "The page's public URL.",
      resolve: (page, _args, context) => `${publicBaseUrl(context)}${STATUS_PATH_PREFIX}${page.slug}`,
    }),
    title: t.exposeString("title", { description: "The page's heading." }),
    description: t.exposeString("description", { nullable: true, description: "A paragraph under the heading." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When it last changed." }),
  }),
});

builder.prismaObject("PublicResource", {
  description:
    "A task, monitor or endpoint you made public: it has badges and (unless showOnStatusPage is false) a row on the status page. " +
    "Everything else stays private: its badges answer 404.",
  fields: (t) => ({
    resourceType: t.expose("resourceType", { type: ResourceTypeEnum, description: "TASK, MONITOR or ENDPOINT." }),
    resourceId: t.exposeID("resourceId", { description: "The resource." }),
    badgeToken: t.exposeString("badgeToken", { description: "The unguessable part of its badge URLs." }),
    statusBadgeUrl: t.string({
      description: "SVG badge of its current state.",
      resolve: (resource, _args, context) => badgeUrls(publicBaseUrl(context), resource.badgeToken).status,
    }),
    uptimeBadgeUrl: t.string({
      description: "SVG badge of its 90-day uptime.",
      resolve: (resource, _args, context) => badgeUrls(publicBaseUrl(context), resource.badgeToken).uptime,
    }),
    displayName: t.exposeString("displayName", { nullable: true, description: "The public name; null shows its own name." }),
    showOnStatusPage: t.exposeBoolean("showOnStatusPage", { description: "Listed on the status page (badges work either way)." }),
    position: t.exposeInt("position", { description: "Order on the status page, lowest first." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was published." }),
  }),
});

const resourceArgs = builder.args((t) => ({
  resourceType: t.field({ type: ResourceTypeEnum, required: true, description: "TASK, MONITOR or ENDPOINT." }),
  resourceId: t.id({ required: true, description: "The resource's id." }),
}));

builder.queryFields((t) => ({
  statusPage: t.prismaField({
    type: "StatusPage",
    nullable: true,
    description: "Your organisation's status page; null until you create one with setStatusPage.",
    resolve: async (query, _root, _args, context) => {
      const page = await getStatusPage(context.services.pool, context.principal.organizationId);
      return page ? context.services.prisma.statusPage.findUnique({ ...query, where: { organizationId: page.organizationId } }) : null;
    },
  }),
  publicResources: t.prismaField({
    type: ["PublicResource"],
    description: "The resources you made public, in status-page order.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.publicResource.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: [{ position: "asc" }, { createdAt: "asc" }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  setStatusPage: t.prismaField({
    type: "StatusPage",
    description: "Creates or changes your organisation's status page at /status/<slug>.",
    args: {
      slug: t.arg.string({ required: true, description: "3–63 lower-case letters, digits and '-'; unique across the installation." }),
      title: t.arg.string({ required: true, description: "The page's heading." }),
      description: t.arg.string({ required: false, description: "A paragraph under the heading." }),
    },
    resolve: async (query, _root, args, context) => {
      const page = await setStatusPage(context.services.pool, context.principal.organizationId, args);
      return context.services.prisma.statusPage.findUniqueOrThrow({ ...query, where: { organizationId: page.organizationId } });
    },
  }),
  deleteStatusPage: t.boolean({
    description: "Deletes the status page; its URL answers 404. Published resources keep their badges.",
    resolve: async (_root, _args, context) => {
      await deleteStatusPage(context.services.pool, context.principal.organizationId);
      return true;
    },
  }),
  publishResource: t.prismaField({
    type: "PublicResource",
    description:
      "Makes a task, monitor or endpoint public (badges, status page), or changes how it is shown. Its badge URLs stay the same.",
    args: {
      ...resourceArgs,
      displayName: t.arg.string({
        required: false,
        description:
          "The public name. Omitted: unchanged (at first, the resource's own name); null: back to the resource's own name. " +
          "A task without a name is shown as 'Unnamed task', never by its URL.",
      }),
      showOnStatusPage: t.arg.boolean({
        required: false,
        description: "List it on the status page. Omitted: unchanged (at first, true).",
      }),
      position: t.arg.int({ required: false, description: "Order on the status page, lowest first. Omitted: unchanged (at first, 0)." }),
    },
    resolve: async (query, _root, args, context) => {
      const published = await publishResource(context.services.pool, context.principal.organizationId, {
        ...args,
        resourceId: String(args.resourceId),
      });
      return context.services.prisma.publicResource.findUniqueOrThrow({
        ...query,
        where: { resourceType_resourceId: { resourceType: published.resourceType, resourceId: published.resourceId } },
      });
    },
  }),
  unpublishResource: t.boolean({
    description: "Makes a resource private again: it leaves the status page and its badges answer 404.",
    args: resourceArgs,
    resolve: async (_root, args, context) => {
      await unpublishResource(context.services.pool, context.principal.organizationId, args.resourceType, String(args.resourceId));
      return true;
    },
  }),
}));
