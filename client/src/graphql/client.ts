/**
 * The dashboard's GraphQL client: queries and mutations over HTTP with the
 * session cookie and the CSRF header, subscriptions over graphql-ws on the
 * same /graphql path. After a WebSocket reconnect every query on screen is
 * fetched again, so nothing missed while offline stays missing.
 */
import {
  Client,
  cacheExchange,
  type Exchange,
  fetchExchange,
  makeOperation,
  mapExchange,
  type Operation,
  subscriptionExchange,
} from "@urql/core";
import { createClient as createWebSocketClient } from "graphql-ws";
import { createSignal } from "solid-js";
import { pipe, tap } from "wonka";
import { readCookie } from "../lib/cookies";

export const CSRF_COOKIE = "runlater_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/**
 * live: connected, or idle because nothing on screen subscribes (so nothing can be missed);
 * connecting: a first connection is being made; reconnecting: a connection was lost and is being retried.
 */
export type LiveState = "connecting" | "live" | "reconnecting";

/** A close the client asked for itself (no subscription left), not a lost connection. */
const NORMAL_CLOSURE = 1000;

export interface RunlaterClient {
  client: Client;
  /** Whether live updates are flowing. */
  liveState: () => LiveState;
  /** Fetches every query on screen again (after a reconnect, or when the server asks for a resync). */
  refetchActiveQueries: () => void;
  dispose: () => void;
}

export interface RunlaterClientOptions {
  /** The page's origin; the API is at <origin>/graphql. */
  origin?: string;
  /** Called when the server answers that the session is gone (expired, logged out elsewhere). */
  onUnauthenticated?: () => void;
  /** The WebSocket class; the browser's by default (tests outside a browser pass Node's `ws`). */
  webSocketImpl?: unknown;
}

/** Keeps the query operations on screen, so they can be re-run after a reconnect. */
function trackActiveQueries(active: Map<number, Operation>): Exchange {
  return ({ forward }) =>
    (operations$) =>
      forward(
        pipe(
          operations$,
          tap((operation) => {
            if (operation.kind === "query") active.set(operation.key, operation);
            else if (operation.kind === "teardown") active.delete(operation.key);
          }),
        ),
      );
}

const isUnauthenticated = (error: { response?: { status?: number }; graphQLErrors: Array<{ extensions?: Record<string, unknown> }> }) =>
  error.response?.status === 401 || error.graphQLErrors.some((graphQLError) => graphQLError.extensions?.code === "UNAUTHENTICATED");

export function createRunlaterClient(options: RunlaterClientOptions = {}): RunlaterClient {
  const origin = options.origin ?? window.location.origin;
  const webSocketUrl = `${origin.replace(/^http/, "ws")}/graphql`;
  const [liveState, setLiveState] = createSignal<LiveState>("live");
  const active = new Map<number, Operation>();
  let hasConnected = false;

  const webSocket = createWebSocketClient({
    url: webSocketUrl,
    webSocketImpl: options.webSocketImpl,
    // The browser sends the session cookie with the upgrade request; nothing else to pass.
    lazy: true,
    // Moving between pages unsubscribes and subscribes again: keep the socket open meanwhile.
    lazyCloseTimeout: 5000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // Back off up to ~10 s with jitter, so a restarted server is not stampeded.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries) * (0.5 + Math.random()))),
    on: {
      connecting: () => {
        if (!hasConnected) setLiveState("connecting");
      },
      connected: () => {
        if (hasConnected) refetchActiveQueries();
        hasConnected = true;
        setLiveState("live");
      },
      closed: (event) => {
        const code = (event as { code?: number } | undefined)?.code;
        if (hasConnected && code !== NORMAL_CLOSURE) setLiveState("reconnecting");
        if (code === 4401) options.onUnauthenticated?.();
      },
    },
  });

  const client = new Client({
    url: `${origin}/graphql`,
    requestPolicy: "cache-and-network",
    fetchOptions: () => ({
      credentials: "same-origin",
      headers: { [CSRF_HEADER]: readCookie(CSRF_COOKIE) ?? "" },
    }),
    exchanges: [
      trackActiveQueries(active),
      mapExchange({
        onError: (error) => {
          if (isUnauthenticated(error)) options.onUnauthenticated?.();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe: (sink) => ({ unsubscribe: webSocket.subscribe(input, sink) }),
          };
        },
      }),
    ],
  });

  function refetchActiveQueries() {
    for (const operation of active.values()) {
      client.reexecuteOperation(makeOperation("query", operation, { ...operation.context, requestPolicy: "network-only" }));
    }
  }

  return { client, liveState, refetchActiveQueries, dispose: () => void webSocket.dispose() };
}
