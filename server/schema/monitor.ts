/**
 * Heartbeat monitors and their pings. Status is computed at read time from
 * the monitor's timestamps (services/monitor-status.ts). `monitorUpdated`
 * streams them live: services/monitors.ts notifies after every ping, checker
 * pass and settings change, and the LiveEventHub of each server process
 * delivers the changed monitors to their organisation's subscribers.
 */
import { monitorState } from "../services/monitor-status.js";
import {
  createMonitor,
  deleteMonitor,
  getMonitor,
  type MonitorRow,
  monitorLimits,
  publicPingUrl,
  setMonitorPaused,
  updateMonitor,
} from "../services/monitors.js";
import { asUuid } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";
import { checkedStream, liveEvents } from "./live.js";
import { publicBaseUrl } from "./public-url.js";

export const MonitorStatusEnum = builder.enumType("MonitorStatus", {
  description: "Where a heartbeat monitor stands (healthchecks.io semantics).",
  values: {
    NEW: { description: "Never pinged; it cannot go DOWN before its first ping." },
    UP: { description: "Pinged on time." },
    LATE: { description: "The expected ping is overdue, but the grace period has not run out." },
    DOWN: { description: "No ping within the grace period, a run that never finished, or a failure ping." },
    PAUSED: { description: "Not expecting pings; the next ping resumes it." },
  } as const,
});

const MonitorPingKindEnum = builder.enumType("MonitorPingKind", {
  description: "What a ping reported.",
  values: {
    SUCCESS: { description: "/ping/<token> or exit code 0: the job ran." },
    START: { description: "/ping/<token>/start: the job began; the next ping measures its duration." },
    FAIL: { description: "/ping/<token>/fail or a non-zero exit code: the job failed (DOWN at once)." },
  } as const,
});

const stateOf = (monitor: MonitorRow) => monitorState(monitor, new Date());

const MonitorRef = builder.prismaObject("Monitor", {
  description:
    "A heartbeat monitor: your job pings its URL on a schedule (an interval or a cron expression); when a ping is " +
    "missing past the grace period, the monitor goes DOWN and alerts are sent.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The monitor's id." }),
    name: t.exposeString("name", { description: "A label for people." }),
    token: t.exposeString("token", { description: "The unguessable part of the ping URL." }),
    pingUrl: t.string({
      description: "Where the job pings (GET or POST, no API key): add /start, /fail or /<exit code> for more.",
      resolve: (monitor, _args, context: GraphQLContext) => publicPingUrl(publicBaseUrl(context), monitor.token),
    }),
    status: t.field({ type: MonitorStatusEnum, description: "Its status now.", resolve: (monitor) => stateOf(monitor).status }),
    intervalSeconds: t.exposeInt("intervalSeconds", { nullable: true, description: "Expected seconds between pings (or cron)." }),
    cron: t.exposeString("cron", { nullable: true, description: "A 5-field cron expression for when pings are expected." }),
    timezone: t.exposeString("timezone", { nullable: true, description: "The IANA time zone of cron." }),
    graceSeconds: t.exposeInt("graceSeconds", { description: "How late a ping may be before the monitor is DOWN." }),
    paused: t.exposeBoolean("paused", { description: "Whether it is paused." }),
    running: t.boolean({ description: "A /start ping is waiting for its finishing ping.", resolve: (monitor) => stateOf(monitor).running }),
    expectedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the next ping is expected.",
      resolve: (monitor) => stateOf(monitor).expectedAt,
    }),
    downAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When it goes DOWN unless pinged first; null when NEW, PAUSED or DOWN.",
      resolve: (monitor) => stateOf(monitor).alertAfter,
    }),
    lastPingAt: t.expose("lastPingAt", { type: "DateTime", nullable: true, description: "The last finishing ping (success or failure)." }),
    lastStartAt: t.expose("lastStartAt", { type: "DateTime", nullable: true, description: "The last /start ping." }),
    lastDurationMs: t.exposeInt("lastDurationMs", { nullable: true, description: "Duration of the last run timed by /start." }),
    statusChangedAt: t.expose("statusChangedAt", { type: "DateTime", description: "When it last went UP, DOWN, PAUSED or NEW." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    updatedAt: t.expose("updatedAt", {
      type: "DateTime",
      description: "When it last changed (a ping, a state change, a setting): of two copies, the later one is current.",
    }),
    pings: t.relatedConnection("pings", {
      cursor: "id",
      description: "Its pings, newest first.",
      query: () => ({ orderBy: { id: "desc" } }),
    }),
  }),
});

builder.prismaObject("MonitorPing", {
  description: "One ping a monitor received.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The ping's id." }),
    kind: t.expose("kind", { type: MonitorPingKindEnum, description: "SUCCESS, START or FAIL." }),
    exitCode: t.exposeInt("exitCode", { nullable: true, description: "The exit code, for /ping/<token>/<exit code>." }),
    durationMs: t.exposeInt("durationMs", { nullable: true, description: "For a finishing ping after /start: the run's duration." }),
    body: t.exposeString("body", { nullable: true, description: "The request body, kept as the run's log (first 10 KiB)." }),
    method: t.exposeString("method", { description: "GET, POST or HEAD." }),
    sourceIp: t.exposeString("sourceIp", { description: "The pinger's address." }),
    userAgent: t.exposeString("userAgent", { nullable: true, description: "The pinger's User-Agent." }),
    receivedAt: t.expose("receivedAt", { type: "DateTime", description: "When it arrived." }),
  }),
});

const scheduleArgs = builder.args((t) => ({
  intervalSeconds: t.int({
    required: false,
    description: `Seconds between pings, ${monitorLimits.intervalSeconds.min}–${monitorLimits.intervalSeconds.max}. Or give cron.`,
  }),
  cron: t.string({ required: false, description: "A 5-field cron expression of when the job runs. Or give intervalSeconds." }),
  timezone: t.string({ required: false, description: "IANA time zone of cron (default UTC)." }),
  graceSeconds: t.int({
    required: false,
    description: `How late a ping may be before DOWN, ${monitorLimits.graceSeconds.min}–${monitorLimits.graceSeconds.max} (default ${monitorLimits.graceSeconds.default}).`,
  }),
}));

const monitorId = builder.args((t) => ({ id: t.id({ required: true, description: "The monitor's id." }) }));

builder.queryFields((t) => ({
  monitors: t.prismaField({
    type: ["Monitor"],
    description: "Your organisation's heartbeat monitors, newest first.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.monitor.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { id: "desc" },
      }),
  }),
  monitor: t.prismaField({
    type: "Monitor",
    description: "One monitor, by id, with its status.",
    args: monitorId,
    resolve: async (query, _root, args, context) => {
      const monitor = await getMonitor(context.services.pool, context.principal.organizationId, String(args.id));
      return context.services.prisma.monitor.findUniqueOrThrow({ ...query, where: { id: monitor.id } });
    },
  }),
  monitorPings: t.prismaConnection({
    type: "MonitorPing",
    cursor: "id",
    description: "A monitor's pings, newest first.",
    defaultSize: 20,
    maxSize: 100,
    args: { monitorId: t.arg.id({ required: true, description: "The monitor." }) },
    resolve: async (query, _root, args, context) => {
      const monitor = await getMonitor(context.services.pool, context.principal.organizationId, String(args.monitorId));
      return context.services.prisma.monitorPing.findMany({ ...query, where: { monitorId: monitor.id }, orderBy: { id: "desc" } });
    },
  }),
}));

async function reload(context: GraphQLContext, query: object, monitor: MonitorRow) {
  return context.services.prisma.monitor.findUniqueOrThrow({ ...query, where: { id: monitor.id } });
}

builder.mutationFields((t) => ({
  createMonitor: t.prismaField({
    type: "Monitor",
    description: "Creates a heartbeat monitor with an interval or a cron schedule. Point your job at its pingUrl.",
    args: { name: t.arg.string({ required: true, description: "A label for people." }), ...scheduleArgs },
    resolve: async (query, _root, args, context) =>
      reload(context, query, await createMonitor(context.services.pool, context.principal.organizationId, args)),
  }),
  updateMonitor: t.prismaField({
    type: "Monitor",
    description: "Changes a monitor's name or schedule; a new interval replaces a cron schedule and vice versa. The ping URL stays.",
    args: { ...monitorId, name: t.arg.string({ required: false, description: "A label for people." }), ...scheduleArgs },
    resolve: async (query, _root, { id, ...input }, context) =>
      reload(context, query, await updateMonitor(context.services, context.principal.organizationId, String(id), input)),
  }),
  pauseMonitor: t.prismaField({
    type: "Monitor",
    description: "Pauses a monitor: no pings are expected and no alerts sent. The next ping (or resumeMonitor) resumes it.",
    args: monitorId,
    resolve: async (query, _root, args, context) =>
      reload(context, query, await setMonitorPaused(context.services, context.principal.organizationId, String(args.id), true)),
  }),
  resumeMonitor: t.prismaField({
    type: "Monitor",
    description: "Resumes a paused monitor; it is NEW until its next ping.",
    args: monitorId,
    resolve: async (query, _root, args, context) =>
      reload(context, query, await setMonitorPaused(context.services, context.principal.organizationId, String(args.id), false)),
  }),
  deleteMonitor: t.boolean({
    description: "Deletes a monitor and its pings; its ping URL answers 404 from then on.",
    args: monitorId,
    resolve: async (_root, args, context) => {
      await deleteMonitor(context.services.pool, context.principal.organizationId, String(args.id));
      return true;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  monitorUpdated: t.field({
    type: MonitorRef,
    description:
      "A monitor each time it is pinged, changes state (UP, DOWN, PAUSED, NEW) or its settings change: one monitor, or " +
      "every monitor of your organisation when `id` is omitted. Pings arriving within a few milliseconds of each other " +
      "may be reported as one event carrying the latest state.",
    args: { id: t.arg.id({ required: false, description: "Only this monitor; every monitor of the organisation when omitted." }) },
    subscribe: (_root, args, context) => {
      const organizationId = context.principal.organizationId;
      const only = args.id === null || args.id === undefined ? null : asUuid(String(args.id), "monitor").toLowerCase();
      const changes = liveEvents(context).subscribe("monitor", organizationId, {
        accepts: (monitor) => only === null || monitor.id === only,
        onOverflow: context.dropSlowConsumer,
      });
      return checkedStream(changes, async () => only !== null && (await getMonitor(context.services.pool, organizationId, only)));
    },
    resolve: (monitor) => monitor,
  }),
}));
