/**
 * GraphQL over WebSocket (graphql-ws protocol) at /graphql, on the API's HTTP
 * server, executed by the same Yoga instance (its getEnveloped recipe), so
 * masking, validation and context are those of HTTP requests.
 *
 * Authentication happens once per connection, in `onConnect`, through the
 * same authenticate() as HTTP: the API key from `connectionParams.authorization`
 * ("Bearer <key>"), or the session cookie of the upgrade request. The cookie
 * is used only when the upgrade request has no Origin or one matching its Host:
 * browsers send cookies with cross-site WebSocket handshakes, and nothing else
 * (no CORS) would stop another site from opening a connection as the user.
 * Missing or invalid credentials close the connection with 4401; credentials
 * revoked later close it with 4403 (LiveEventHub re-checks them). Subscriptions
 * over server-sent events (a POST to /graphql accepting text/event-stream) are
 * live connections too: their stream ends when their credentials are revoked.
 */
import type http from "node:http";
import { type ExecutionArgs, GraphQLError } from "graphql";
import type { Context } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { LIVE_CLOSE, type LiveConnection, type LiveEventHub } from "../realtime/live-event-hub.js";
import type { Services } from "../runtime.js";
import type { Principal } from "../services/api-keys.js";
import { authenticate, type Credentials } from "./authenticate.js";
import { coalesceWebSocketWrites } from "./websocket-write-coalescing.js";
import type { createGraphQLServer } from "./yoga.js";
import { GRAPHQL_PATH } from "./yoga.js";

type Yoga = ReturnType<typeof createGraphQLServer>;

type ConnectionExtra = {
  socket: import("ws").WebSocket;
  request: http.IncomingMessage;
  principal?: Principal;
  unregister?: () => void;
};

/** Largest graphql-ws message accepted from a client (a subscription document and its variables). */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** The upgrade request's cookie, unless the request comes from another site. */
export function sameOriginCookie(request: Pick<http.IncomingMessage, "headers">): string | undefined {
  const { origin, host, cookie } = request.headers;
  if (!cookie) return undefined;
  if (!origin) return cookie;
  try {
    return new URL(origin).host === host ? cookie : undefined;
  } catch {
    return undefined;
  }
}

function closeWith(socket: import("ws").WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
}

/**
 * A live connection made with `credentials`, which authenticated as `principal`: re-checked by LiveEventHub when the
 * organisation's keys, sessions or memberships change, and closed unless the credentials still authenticate for the
 * same organisation with the same role. A session whose member was removed moves on to another organisation of its
 * user, and a demoted admin's session stays valid: either way the connection would go on with what it may no longer
 * see (its principal, role included, is fixed when it connects).
 */
export function liveConnection(
  services: Services,
  credentials: Credentials,
  principal: Principal,
  close: LiveConnection["close"],
): LiveConnection {
  return {
    organizationId: principal.organizationId,
    via: principal.via,
    stillAuthorized: async () => {
      const again = await authenticate(services, credentials);
      return (
        again.outcome === "authenticated" &&
        again.principal.organizationId === principal.organizationId &&
        again.principal.role === principal.role
      );
    },
    close,
  };
}

/**
 * A subscription's server-sent event stream, registered with `live` as a connection while it lasts: when its
 * credentials are revoked (or the server stops) the stream ends, as a WebSocket connection would close.
 */
export function liveEventStream(answer: Response, live: LiveEventHub, connection: (close: () => void) => LiveConnection): Response {
  if (!answer.body) return answer;
  const events = answer.body.getReader();
  let unregister = () => {};
  const body = new ReadableStream<Uint8Array>({
    start() {
      // Cancelling the source ends the pending read: pull then closes this stream, and the response ends.
      unregister = live.addConnection(connection(() => void events.cancel()));
    },
    async pull(controller) {
      const { done, value } = await events.read();
      if (done) {
        unregister();
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) {
      unregister();
      return events.cancel(reason);
    },
  });
  return new Response(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}

/** Serves graphql-ws on `server`; its connections are closed when `live` stops. */
export function attachGraphQLWebSocket(server: http.Server, yoga: Yoga, services: Services, live: LiveEventHub): void {
  const webSockets = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: MAX_MESSAGE_BYTES });
  webSockets.on("error", (error) => services.logger.error({ err: error }, "WebSocket server error"));
  // Registered before graphql-ws's own listener, so every message it sends is coalesced.
  webSockets.on("connection", (socket) => coalesceWebSocketWrites(socket));

  const graphqlWs = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      onConnect: async (context: Context<Record<string, unknown> | undefined, ConnectionExtra>) => {
        const { socket, request } = context.extra;
        const authorization = context.connectionParams?.authorization;
        const credentials: Credentials = {
          authorization: typeof authorization === "string" ? authorization : undefined,
          cookie: sameOriginCookie(request),
        };
        const authentication = await authenticate(services, credentials);
        if (authentication.outcome !== "authenticated") {
          const reason =
            authentication.outcome === "rejected"
              ? authentication.message
              : "missing credentials: send connectionParams { authorization: 'Bearer <api key>' }";
          closeWith(socket, 4401, reason.slice(0, 120));
          return false;
        }
        context.extra.principal = authentication.principal;
        context.extra.unregister = live.addConnection(
          liveConnection(services, credentials, authentication.principal, (code, reason) => closeWith(socket, code, reason)),
        );
        socket.once("close", () => context.extra.unregister?.());
        return true;
      },
      onSubscribe: async (context, _id, payload) => {
        const { socket, request, principal } = context.extra;
        if (!principal) return [new GraphQLError("the connection is not authenticated")];
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          // Resolvers read HTTP headers from a fetch Request; a WebSocket operation has none of its own.
          request: new Request(new URL(GRAPHQL_PATH, `http://${request.headers.host ?? "runlater.local"}`)),
          principal,
          params: payload,
          dropSlowConsumer: () => closeWith(socket, LIVE_CLOSE.slowConsumer.code, LIVE_CLOSE.slowConsumer.reason),
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
    },
    webSockets,
  );
  live.onStop(async () => {
    await graphqlWs.dispose();
  });
}
