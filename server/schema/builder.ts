/** The Pothos builder: plugins, scalars and the context type. Types live in one file per domain. */
import SchemaBuilder from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import SimpleObjectsPlugin from "@pothos/plugin-simple-objects";
import type PrismaTypes from "../generated/pothos-prisma-types.js";
import { getDatamodel } from "../generated/pothos-prisma-types.js";
import type { LiveEventHub } from "../realtime/live-event-hub.js";
import type { Services } from "../runtime.js";
import type { Principal } from "../services/api-keys.js";
import { complexityError, fieldComplexity, QUERY_LIMITS } from "./complexity.js";
import { DateTimeScalar, DelayScalar, JsonObjectScalar, JsonScalar } from "./scalars.js";

export interface GraphQLContext {
  request: Request;
  services: Services;
  /** The caller. Reading it throws UNAUTHENTICATED for anonymous requests: every field is private unless it opts out. */
  principal: Principal;
  /** The caller or null, for the public fields (viewer, logIn, …) that also serve anonymous requests. */
  optionalPrincipal: Principal | null;
  clientAddress: string;
  /** Set-Cookie values for the HTTP layer to add to the response. */
  responseCookies: string[];
  /** Live events of this server process; null where subscriptions are not served (schema printing). */
  live: LiveEventHub | null;
  /** Over WebSocket: closes the caller's connection when a subscription falls too far behind. */
  dropSlowConsumer?: () => void;
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: string; Output: Date | string };
    Delay: { Input: string | number; Output: string | number };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [PrismaPlugin, RelayPlugin, SimpleObjectsPlugin, ComplexityPlugin],
  complexity: { fieldComplexity, limit: QUERY_LIMITS, complexityError },
  defaultFieldNullability: false,
  prisma: {
    client: (context) => context.services.prisma,
    dmmf: getDatamodel(),
    // Connections report totalCount only when a client asks for it.
    filterConnectionTotalCount: true,
    // Mutations return rows written by services; relations a client asks for are loaded afterwards.
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    // Ids stay the plain UUIDs REST uses in its paths; no global-id encoding.
    encodeGlobalID: (_typename, id) => String(id),
    decodeGlobalID: (globalID) => ({ typename: "", id: globalID }),
  },
});

builder.addScalarType("DateTime", DateTimeScalar);
builder.addScalarType("Delay", DelayScalar);
builder.addScalarType("JSON", JsonScalar);
builder.addScalarType("JSONObject", JsonObjectScalar);

builder.queryType({
  description: "Read tasks, executions, API keys and signing secrets of the caller's organisation, and who the caller is.",
});
builder.mutationType({
  description: "Push, cancel and trigger tasks; manage API keys, signing secrets, accounts and organisations.",
});
builder.subscriptionType({
  description:
    "Live updates of the caller's organisation, over graphql-ws at /graphql (or server-sent events). Every server instance " +
    "delivers what any process changed. A client that reconnects should refetch what it shows: events are not replayed.",
});
