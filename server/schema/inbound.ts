/**
 * Inbound webhooks: endpoints, the events they received, and replays. See
 * server/services/inbound-events.ts for how an event is stored and forwarded.
 * The `inboundEvents` subscription streams events as they are stored, from
 * whichever process received them (through the LiveEventHub).
 */
import { notFound } from "../errors.js";
import type { InboundEvent } from "../generated/prisma/client.js";
import {
  createInboundEndpoint,
  deleteInboundEndpoint,
  endpointLimits,
  getInboundEndpoint,
  publicEndpointUrl,
  updateInboundEndpoint,
} from "../services/inbound-endpoints.js";
import { MAX_REPLAY_IDS, RETENTION_DAYS, replayInboundEvents, setInboundRetention } from "../services/inbound-events.js";
import { asUuid } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";
import { checkedStream, liveEvents } from "./live.js";
import { publicBaseUrl } from "./public-url.js";
import { HttpMethodEnum } from "./task.js";

const InboundVerificationEnum = builder.enumType("InboundVerification", {
  description: "How an endpoint checks that a request comes from its sender.",
  values: {
    STRIPE: { description: "Stripe's `Stripe-Signature: t=…,v1=…` (HMAC-SHA256 of `t.body`), at most 5 minutes old." },
    GITHUB: { description: "GitHub's `X-Hub-Signature-256: sha256=<hex>` (HMAC-SHA256 of the body)." },
    HMAC: { description: "A header you name, holding the HMAC-SHA256 of the body in hex or base64 (a `sha256=` prefix is allowed)." },
  } as const,
});

const InboundEventStatusEnum = builder.enumType("InboundEventStatus", {
  description: "What became of a received request.",
  values: {
    ACCEPTED: { description: "Stored and forwarded to the endpoint's destinations." },
    REJECTED: { description: "The sender's signature did not verify: answered 401, stored, not forwarded." },
  } as const,
});

const VerifyInput = builder.inputType("InboundVerifyInput", {
  description: "Signature verification of incoming requests.",
  fields: (t) => ({
    kind: t.field({ type: InboundVerificationEnum, required: true, description: "The sender's signature scheme." }),
    secret: t.string({ required: true, description: "The signing secret the sender gave you (e.g. Stripe's whsec_…)." }),
    header: t.string({ required: false, description: "HMAC only: the header carrying the signature, e.g. X-Signature." }),
  }),
});

const VerificationRef = builder.simpleObject("InboundVerificationSettings", {
  description: "How an endpoint verifies senders. The secret is write-only.",
  fields: (t) => ({
    kind: t.field({ type: InboundVerificationEnum, description: "The signature scheme." }),
    header: t.string({ nullable: true, description: "HMAC only: the header carrying the signature." }),
  }),
});

/**
 * An event from a query (a Prisma row), or from the inboundEvents subscription
 * (LiveInboundEvent), which carries `bodySize` and leaves a large body out.
 */
type EventAsReceived = Omit<InboundEvent, "body"> & { body: Uint8Array | null; bodySize?: number };

/** The event's body: the one it was loaded with, or (a large body left out of a live event) read now. */
async function eventBody(event: EventAsReceived, context: GraphQLContext): Promise<Buffer> {
  if (event.body !== null) return Buffer.from(event.body);
  const { rows } = await context.services.pool.query<{ body: Buffer }>(
    "SELECT body FROM inbound_events WHERE id = $1 AND organization_id = $2",
    [event.id, event.organizationId],
  );
  return rows[0]?.body ?? Buffer.alloc(0);
}

builder.prismaObject("InboundEndpoint", {
  description:
    "A public URL that accepts any request (any method, a body up to 1 MiB), stores it as an event and forwards it " +
    "to up to 10 destination URLs, each forward an ordinary signed, retried and recorded task.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The endpoint's id." }),
    name: t.exposeString("name", { description: "A label for people." }),
    slug: t.exposeString("slug", { description: "The unguessable part of its public URL." }),
    url: t.string({
      description: "The public URL to give the sender: `<RUNLATER_PUBLIC_URL>/in/<slug>`. No API key is needed to call it.",
      resolve: (endpoint, _args, context) => publicEndpointUrl(publicBaseUrl(context), endpoint.slug),
    }),
    forwardUrls: t.exposeStringList("forwardUrls", { description: "Where each event is forwarded." }),
    forwardMethod: t.expose("forwardMethod", {
      type: HttpMethodEnum,
      nullable: true,
      description: "The method forwards use; null: the sender's method (POST for methods a task cannot send).",
    }),
    forwardHeaders: t.field({
      type: "JSONObject",
      description: "Headers set on every forward, replacing the sender's headers of the same name.",
      resolve: (endpoint) => endpoint.forwardHeaders as Record<string, unknown>,
    }),
    ordered: t.exposeBoolean("ordered", {
      description: "Forwards reach each destination one at a time, in the order events were received.",
    }),
    retries: t.exposeInt("retries", { description: "Retries of each forward after its first attempt." }),
    timeoutMs: t.exposeInt("timeoutMs", { description: "Time allowed for each forward attempt, in milliseconds." }),
    verification: t.field({
      type: VerificationRef,
      nullable: true,
      description: "How senders are verified; null accepts every request.",
      resolve: (endpoint) => (endpoint.verification ? { kind: endpoint.verification, header: endpoint.verificationHeader } : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the endpoint was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When its settings last changed." }),
  }),
});

const InboundEventRef = builder.prismaObject("InboundEvent", {
  description: "A request an endpoint received, exactly as it arrived.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The event's id (time-ordered); forwards carry it as Runlater-Event-Id." }),
    endpointId: t.exposeID("endpointId", { description: "The endpoint that received it." }),
    status: t.expose("status", { type: InboundEventStatusEnum, description: "ACCEPTED (forwarded) or REJECTED (bad signature)." }),
    rejectionReason: t.exposeString("rejectionReason", { nullable: true, description: "Why verification failed." }),
    method: t.exposeString("method", { description: "The HTTP method the sender used." }),
    path: t.exposeString("path", { description: "The path after /in/<slug>, usually empty." }),
    query: t.exposeString("query", { description: "The query string, without its `?`." }),
    headers: t.field({
      type: "JSONObject",
      description: "The request's headers (lower-case names; repeated headers joined with `, `).",
      resolve: (event) => event.headers as Record<string, unknown>,
    }),
    body: t.string({
      description: "The raw body decoded as UTF-8 (see bodyBase64 for binary bodies).",
      resolve: async (event, _args, context) => (await eventBody(event, context)).toString("utf8"),
    }),
    bodyBase64: t.string({
      description: "The raw body, base64-encoded.",
      resolve: async (event, _args, context) => (await eventBody(event, context)).toString("base64"),
    }),
    bodySize: t.int({
      description: "The body's size in bytes.",
      resolve: (event) => (event as EventAsReceived).bodySize ?? event.body.length,
    }),
    sourceIp: t.exposeString("sourceIp", { description: "The sender's address." }),
    receivedAt: t.expose("receivedAt", { type: "DateTime", description: "When it arrived." }),
    deliveries: t.relation("deliveries", {
      description: "Its forwards (and replays), one task per destination.",
      query: { orderBy: { taskId: "asc" } },
    }),
  }),
});

builder.prismaObject("InboundDelivery", {
  description: "A forward of an event to one destination: an ordinary task, retried and recorded.",
  fields: (t) => ({
    taskId: t.exposeID("taskId", { description: "The forwarding task; its executions are the attempts." }),
    eventId: t.exposeID("eventId", { description: "The event forwarded." }),
    destination: t.exposeString("destination", { description: "The URL it is sent to." }),
    replay: t.exposeBoolean("replay", { description: "True for a replay, false for the forward made on arrival." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the forward was created." }),
    task: t.relation("task", { description: "The forwarding task, with its status." }),
  }),
});

builder.queryFields((t) => ({
  endpoints: t.prismaField({
    type: ["InboundEndpoint"],
    description: "Your organisation's inbound webhook endpoints, newest first.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.inboundEndpoint.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { id: "desc" },
      }),
  }),
  endpoint: t.prismaField({
    type: "InboundEndpoint",
    description: "One endpoint, by id.",
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: async (query, _root, args, context) => {
      const endpoint = await getInboundEndpoint(context.services.pool, context.principal.organizationId, String(args.id));
      return context.services.prisma.inboundEndpoint.findUniqueOrThrow({ ...query, where: { id: endpoint.id } });
    },
  }),
  inboundEvents: t.prismaConnection({
    type: "InboundEvent",
    cursor: "id",
    description: "Events an endpoint received, newest first.",
    defaultSize: 20,
    maxSize: 100,
    args: {
      endpointId: t.arg.id({ required: true, description: "The endpoint." }),
      status: t.arg({ type: InboundEventStatusEnum, required: false, description: "Only events with this status." }),
    },
    resolve: async (query, _root, args, context) => {
      const endpoint = await getInboundEndpoint(context.services.pool, context.principal.organizationId, String(args.endpointId));
      return context.services.prisma.inboundEvent.findMany({
        ...query,
        where: { endpointId: endpoint.id, status: args.status ?? undefined },
        orderBy: { id: "desc" },
      });
    },
  }),
  inboundEvent: t.prismaField({
    type: "InboundEvent",
    description: "One event, with its headers, body and forwards.",
    args: { id: t.arg.id({ required: true, description: "The event's id." }) },
    resolve: async (query, _root, args, context) => {
      const event = await context.services.prisma.inboundEvent.findFirst({
        ...query,
        where: { id: asUuid(String(args.id), "event"), organizationId: context.principal.organizationId },
      });
      if (!event) throw notFound("event", String(args.id));
      return event;
    },
  }),
}));

/** Forwarding settings shared by createEndpoint and updateEndpoint. */
const forwardingArgs = builder.args((t) => ({
  forwardMethod: t.field({
    type: HttpMethodEnum,
    required: false,
    description: "Forward with this method instead of the sender's.",
  }),
  forwardHeaders: t.field({
    type: "JSONObject",
    required: false,
    description: "Headers set on every forward (string values), replacing the sender's of the same name.",
  }),
  ordered: t.boolean({
    required: false,
    description: "Deliver to each destination one event at a time, in the order received (default false).",
  }),
  retries: t.int({
    required: false,
    description: `Retries of each forward, ${endpointLimits.retries.min}–${endpointLimits.retries.max} (default ${endpointLimits.retries.default}).`,
  }),
  timeoutMs: t.int({ required: false, description: "Per-attempt timeout of a forward, 1000–300000 ms (default 30000)." }),
}));

builder.mutationFields((t) => ({
  createEndpoint: t.prismaField({
    type: "InboundEndpoint",
    description: "Creates an inbound webhook endpoint. Give its `url` to the sender.",
    args: {
      name: t.arg.string({ required: true, description: "A label for people." }),
      forwardUrls: t.arg.stringList({
        required: true,
        description: `Destinations of every event, at most ${endpointLimits.maxForwardUrls} (an empty list only stores events).`,
      }),
      verify: t.arg({ type: VerifyInput, required: false, description: "Require the sender's signature." }),
      ...forwardingArgs,
    },
    resolve: async (query, _root, args, context) => {
      const endpoint = await createInboundEndpoint(context.services.pool, context.principal.organizationId, args, context.services.config);
      return context.services.prisma.inboundEndpoint.findUniqueOrThrow({ ...query, where: { id: endpoint.id } });
    },
  }),
  updateEndpoint: t.prismaField({
    type: "InboundEndpoint",
    description: "Changes an endpoint's settings; omitted settings stay as they are. Its URL does not change.",
    args: {
      id: t.arg.id({ required: true, description: "The endpoint's id." }),
      name: t.arg.string({ required: false, description: "A label for people." }),
      forwardUrls: t.arg.stringList({ required: false, description: "Replaces the destinations." }),
      verify: t.arg({ type: VerifyInput, required: false, description: "Replaces the verification settings." }),
      removeVerification: t.arg.boolean({ required: false, description: "True to accept requests without a signature again." }),
      ...forwardingArgs,
    },
    resolve: async (query, _root, args, context) => {
      const { id, removeVerification, ...input } = args;
      const endpoint = await updateInboundEndpoint(
        context.services.pool,
        context.principal.organizationId,
        String(id),
        { ...input, verify: removeVerification ? null : (input.verify ?? undefined) },
        context.services.config,
      );
      return context.services.prisma.inboundEndpoint.findUniqueOrThrow({ ...query, where: { id: endpoint.id } });
    },
  }),
  deleteEndpoint: t.field({
    type: "Boolean",
    description: "Deletes an endpoint and its events; its URL answers 404 from then on. Forwards already made stay as tasks.",
    args: { id: t.arg.id({ required: true, description: "The endpoint's id." }) },
    resolve: async (_root, args, context) => {
      await deleteInboundEndpoint(context.services.pool, context.principal.organizationId, String(args.id));
      return true;
    },
  }),
  replayEvent: t.prismaField({
    type: ["InboundDelivery"],
    description:
      "Forwards a stored event again, to every destination of its endpoint or only to `destination`, as new tasks due now. " +
      "A REJECTED event can be replayed too.",
    args: {
      id: t.arg.id({ required: true, description: "The event." }),
      destination: t.arg.string({ required: false, description: "One of the endpoint's forwardUrls; all of them when omitted." }),
    },
    resolve: async (query, _root, args, context) => {
      const replayed = await replayInboundEvents(context.services, context.principal.organizationId, [String(args.id)], args.destination);
      return context.services.prisma.inboundDelivery.findMany({ ...query, where: { taskId: { in: replayed.map((d) => d.taskId) } } });
    },
  }),
  replayEvents: t.prismaField({
    type: ["InboundDelivery"],
    description: `Replays up to ${MAX_REPLAY_IDS} events at once, all or none, as replayEvent does.`,
    args: {
      ids: t.arg.idList({ required: true, description: "The events." }),
      destination: t.arg.string({ required: false, description: "One destination URL; every destination when omitted." }),
    },
    resolve: async (query, _root, args, context) => {
      const replayed = await replayInboundEvents(
        context.services,
        context.principal.organizationId,
        args.ids.map(String),
        args.destination,
      );
      return context.services.prisma.inboundDelivery.findMany({
        ...query,
        where: { taskId: { in: replayed.map((d) => d.taskId) } },
        orderBy: { taskId: "asc" },
      });
    },
  }),
  setInboundRetention: t.int({
    description: `Sets how many days inbound events are kept (${RETENTION_DAYS.min}–${RETENTION_DAYS.max}; default 30). Returns the days.`,
    args: { days: t.arg.int({ required: true, description: "Days to keep events." }) },
    resolve: (_root, args, context) => setInboundRetention(context.services.pool, context.principal.organizationId, args.days),
  }),
}));

builder.subscriptionFields((t) => ({
  inboundEvents: t.field({
    type: InboundEventRef,
    description:
      "Events as your endpoints receive them, ACCEPTED or REJECTED, once stored (their forwards exist by then): one " +
      "endpoint's, or every endpoint's of your organisation when `endpointId` is omitted.",
    args: {
      endpointId: t.arg.id({ required: false, description: "Only this endpoint's events; every endpoint's when omitted." }),
    },
    subscribe: (_root, args, context) => {
      const organizationId = context.principal.organizationId;
      const only =
        args.endpointId === null || args.endpointId === undefined ? null : asUuid(String(args.endpointId), "endpoint").toLowerCase();
      const events = liveEvents(context).subscribe("inboundEvent", organizationId, {
        accepts: (event) => only === null || event.endpointId === only,
        onOverflow: context.dropSlowConsumer,
      });
      return checkedStream(events, async () => only !== null && (await getInboundEndpoint(context.services.pool, organizationId, only)));
    },
    // Large bodies are left out of live events; the body fields read them (eventBody).
    resolve: (event) => event as unknown as InboundEvent,
  }),
}));
