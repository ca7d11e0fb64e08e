/**
 * Alert channels, alert routes (per-resource overrides) and the record of
 * notifications sent. See server/services/alerts.ts for when alerts fire.
 */
import {
  ALERT_CHANNEL_KINDS,
  type AlertRouteRow,
  createAlertChannel,
  deleteAlertChannel,
  getAlertRoute,
  setAlertRoute,
  updateAlertChannel,
} from "../services/alert-channels.js";
import { testAlertChannel } from "../services/alerts.js";
import { uuidFilter } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";

export const ResourceTypeEnum = builder.enumType("ResourceType", {
  description: "The kinds of things Runlater watches.",
  values: {
    TASK: { description: "A task (its runs ending FAILED or succeeding again)." },
    MONITOR: { description: "A heartbeat monitor." },
    ENDPOINT: { description: "An inbound webhook endpoint (its forwards failing or succeeding again)." },
  } as const,
});

const AlertChannelKindEnum = builder.enumType("AlertChannelKind", {
  description: "Where an alert channel sends.",
  values: {
    EMAIL: { description: "An email address, through the SMTP server configured in RUNLATER_SMTP_URL." },
    SLACK: { description: "A Slack incoming webhook URL (Block Kit message)." },
    DISCORD: { description: "A Discord webhook URL (an embed, red or green)." },
    WEBHOOK: { description: "Any URL: a JSON POST signed with Runlater-Signature." },
  } as const,
});

const AlertEventEnum = builder.enumType("AlertEvent", {
  description: "What an alert is about. Alerts fire on changes of state only, never once per failed attempt.",
  values: {
    TASK_FAILED: { description: "A task's run ended FAILED (after its final retry), and the previous one had not." },
    TASK_RECOVERED: { description: "A task succeeded after a run that FAILED." },
    MONITOR_DOWN: { description: "A monitor went DOWN." },
    MONITOR_UP: { description: "A monitor came back UP." },
    ENDPOINT_FAILING: { description: "A forward of an endpoint's events failed after its final retry." },
    ENDPOINT_RECOVERED: { description: "An endpoint's forward succeeded again after failing." },
    TEST: { description: "A test sent with testAlertChannel." },
  } as const,
});

const NotificationStatusEnum = builder.enumType("NotificationStatus", {
  description: "How far a notification got.",
  values: {
    PENDING: { description: "An email waiting to be sent (or for the hourly email allowance)." },
    SENT: { description: "An email sent on its own." },
    DIGESTED: { description: "An email sent within a digest (digestId), after the hourly limit was reached." },
    FAILED: { description: "An email that could not be sent after 5 attempts (see error)." },
    HANDED_TO_TASK: { description: "A Slack, Discord or webhook alert, delivered by the task taskId: its status tells how it went." },
  } as const,
});

const AlertModeEnum = builder.enumType("AlertMode", {
  description: "Which channels a resource's alerts go to.",
  values: {
    DEFAULT: { description: "The organisation's default channels (isDefault)." },
    OFF: { description: "None: no alerts for this resource." },
    CHANNELS: { description: "Only the channels listed in channelIds." },
  } as const,
});

builder.prismaObject("AlertChannel", {
  description: "A destination for your organisation's alerts.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The channel's id." }),
    name: t.exposeString("name", { description: "A label for people." }),
    kind: t.expose("kind", { type: AlertChannelKindEnum, description: "EMAIL, SLACK, DISCORD or WEBHOOK." }),
    target: t.exposeString("target", { description: "The email address or webhook URL." }),
    isDefault: t.exposeBoolean("isDefault", { description: "Receives the alerts of every resource that has no route of its own." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When it last changed." }),
  }),
});

builder.prismaObject("Notification", {
  description: "One alert sent (or waiting to be sent) to one channel.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The notification's id." }),
    channelId: t.exposeID("channelId", { description: "The channel." }),
    event: t.expose("event", { type: AlertEventEnum, description: "What happened." }),
    resourceType: t.expose("resourceType", { type: ResourceTypeEnum, nullable: true, description: "What it is about (null for a test)." }),
    resourceId: t.exposeID("resourceId", { nullable: true, description: "The task, monitor or endpoint." }),
    subject: t.exposeString("subject", { description: "One line saying what happened." }),
    text: t.exposeString("text", { description: "The full message, as emailed." }),
    status: t.expose("status", { type: NotificationStatusEnum, description: "How far it got." }),
    taskId: t.exposeID("taskId", { nullable: true, description: "For Slack, Discord and webhook channels: the delivering task." }),
    attempts: t.exposeInt("attempts", { description: "Emails: send attempts so far." }),
    error: t.exposeString("error", { nullable: true, description: "Emails: why the last attempt failed." }),
    digestId: t.exposeID("digestId", { nullable: true, description: "Emails sent together in one digest share it." }),
    sentAt: t.expose("sentAt", { type: "DateTime", nullable: true, description: "When the email went out." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the alert was raised." }),
  }),
});

const AlertRouteRef = builder.objectRef<AlertRouteRow>("AlertRoute").implement({
  description: "Which channels a task's, monitor's or endpoint's alerts go to.",
  fields: (t) => ({
    resourceType: t.field({ type: ResourceTypeEnum, description: "The kind of resource.", resolve: (route) => route.resourceType }),
    resourceId: t.exposeID("resourceId", { description: "The resource." }),
    mode: t.field({ type: AlertModeEnum, description: "DEFAULT, OFF or CHANNELS.", resolve: (route) => route.mode }),
    channelIds: t.idList({ description: "The channels, for mode CHANNELS.", resolve: (route) => route.channelIds }),
  }),
});

const channelId = builder.args((t) => ({ id: t.id({ required: true, description: "The channel's id." }) }));
const resourceArgs = builder.args((t) => ({
  resourceType: t.field({ type: ResourceTypeEnum, required: true, description: "TASK, MONITOR or ENDPOINT." }),
  resourceId: t.id({ required: true, description: "The resource's id." }),
}));

const channelOptions = (context: GraphQLContext) => ({
  allowPrivateTargets: context.services.config.allowPrivateTargets,
  smtpConfigured: context.services.config.smtpUrl !== undefined,
});

builder.queryFields((t) => ({
  alertChannels: t.prismaField({
    type: ["AlertChannel"],
    description: "Your organisation's alert channels.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.alertChannel.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { id: "asc" },
      }),
  }),
  notifications: t.prismaConnection({
    type: "Notification",
    cursor: "id",
    description: "Alerts raised for your organisation, newest first.",
    defaultSize: 20,
    maxSize: 100,
    args: {
      channelId: t.arg.id({ required: false, description: "Only this channel's." }),
      resourceId: t.arg.id({ required: false, description: "Only about this task, monitor or endpoint." }),
    },
    resolve: (query, _root, args, context) =>
      context.services.prisma.notification.findMany({
        ...query,
        where: {
          organizationId: context.principal.organizationId,
          channelId: args.channelId ? uuidFilter(String(args.channelId), "channelId") : undefined,
          resourceId: args.resourceId ? uuidFilter(String(args.resourceId), "resourceId") : undefined,
        },
        orderBy: { id: "desc" },
      }),
  }),
  alertRoute: t.field({
    type: AlertRouteRef,
    description: "Which channels a resource's alerts go to (DEFAULT when it has no route of its own).",
    args: resourceArgs,
    resolve: (_root, args, context) =>
      getAlertRoute(context.services.pool, context.principal.organizationId, args.resourceType, String(args.resourceId)),
  }),
}));

builder.mutationFields((t) => ({
  createAlertChannel: t.prismaField({
    type: "AlertChannel",
    description: "Adds an alert channel. Test it with testAlertChannel.",
    args: {
      name: t.arg.string({ required: true, description: "A label for people." }),
      kind: t.arg({ type: AlertChannelKindEnum, required: true, description: `One of ${ALERT_CHANNEL_KINDS.join(", ")}.` }),
      target: t.arg.string({ required: true, description: "An email address (EMAIL) or a webhook URL." }),
      isDefault: t.arg.boolean({ required: false, description: "Receives alerts of resources without a route (default true)." }),
    },
    resolve: async (query, _root, args, context) => {
      const channel = await createAlertChannel(context.services.pool, context.principal.organizationId, args, channelOptions(context));
      return context.services.prisma.alertChannel.findUniqueOrThrow({ ...query, where: { id: channel.id } });
    },
  }),
  updateAlertChannel: t.prismaField({
    type: "AlertChannel",
    description: "Changes a channel; omitted fields stay as they are. Its kind cannot change.",
    args: {
      ...channelId,
      name: t.arg.string({ required: false, description: "A label for people." }),
      target: t.arg.string({ required: false, description: "The email address or webhook URL." }),
      isDefault: t.arg.boolean({ required: false, description: "Receives alerts of resources without a route." }),
    },
    resolve: async (query, _root, { id, ...input }, context) => {
      const channel = await updateAlertChannel(
        context.services.pool,
        context.principal.organizationId,
        String(id),
        input,
        channelOptions(context),
      );
      return context.services.prisma.alertChannel.findUniqueOrThrow({ ...query, where: { id: channel.id } });
    },
  }),
  deleteAlertChannel: t.boolean({
    description: "Deletes a channel and its notifications.",
    args: channelId,
    resolve: async (_root, args, context) => {
      await deleteAlertChannel(context.services.pool, context.principal.organizationId, String(args.id));
      return true;
    },
  }),
  testAlertChannel: t.prismaField({
    type: "Notification",
    description: "Sends a TEST alert to the channel now, through the same path as real alerts (emails count toward the hourly limit).",
    args: channelId,
    resolve: async (query, _root, args, context) => {
      const id = await testAlertChannel(context.services, context.principal.organizationId, String(args.id));
      return context.services.prisma.notification.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  setAlertRoute: t.field({
    type: AlertRouteRef,
    description: "Chooses where a task's, monitor's or endpoint's alerts go: DEFAULT, OFF, or CHANNELS (channelIds).",
    args: {
      ...resourceArgs,
      mode: t.arg({ type: AlertModeEnum, required: true, description: "DEFAULT, OFF or CHANNELS." }),
      channelIds: t.arg.idList({ required: false, description: "For CHANNELS: the channels to use." }),
    },
    resolve: (_root, args, context) =>
      setAlertRoute(context.services.pool, context.principal.organizationId, {
        resourceType: args.resourceType,
        resourceId: String(args.resourceId),
        mode: args.mode,
        channelIds: args.channelIds?.map(String),
      }),
  }),
}));
