/**
 * Real graphql-ws clients (over `ws`) for subscription tests: a subscription
 * records what it receives and how its connection ended.
 */
import { type Client, createClient } from "graphql-ws";
import { afterAll } from "vitest";
import WebSocket from "ws";
import { eventually } from "./runlater.js";

export interface LiveSubscription<T> {
  /** `data` of every event received so far. */
  events: T[];
  /** Errors the server sent for the operation, if any. */
  errors: unknown[];
  /** The close event of the connection, once it closed. */
  closed: { code: number; reason: string } | null;
  /** Resolves once `check` holds for the events received; fails after `timeoutMs`. */
  waitFor(check: (events: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
  /** Resolves when the connection is acknowledged (authenticated), rejects when it is closed first. */
  connected: Promise<void>;
  /**
   * Resolves once the server has set the subscription up: a query sent after it
   * on the same connection has been answered (the server handles a
   * connection's messages in order and a subscription starts before a query ends).
   */
  ready(): Promise<void>;
  client: Client;
  dispose(): Promise<void>;
}

export interface LiveOptions {
  /** Extra headers of the upgrade request (Cookie, Origin). */
  headers?: Record<string, string>;
  /** Never retry: a refused connection stays closed. */
  retryAttempts?: number;
}

/** Opens a connection to `baseUrl` as `apiKey` (null: no connectionParams) and starts one subscription. */
export function subscribe<T = Record<string, unknown>>(
  baseUrl: string,
  apiKey: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  options: LiveOptions = {},
): LiveSubscription<T> {
  let acknowledge: () => void = () => undefined;
  let refuse: (error: Error) => void = () => undefined;
  const connected = new Promise<void>((resolve, reject) => {
    acknowledge = resolve;
    refuse = reject;
  });
  connected.catch(() => undefined);
  const subscription: LiveSubscription<T> = {
    events: [],
    errors: [],
    closed: null,
    connected,
    client: undefined as unknown as Client,
    waitFor: (check, timeoutMs = 15_000) =>
      eventually(async () => (check(subscription.events) ? subscription.events : undefined), timeoutMs),
    ready: async () => {
      await connected;
      await new Promise<void>((resolve, reject) => {
        subscription.client.subscribe({ query: "{ __typename }" }, { next: () => undefined, error: reject, complete: resolve });
      });
    },
    dispose: async () => {
      await subscription.client.dispose();
    },
  };
  const headers = options.headers;
  subscription.client = createClient({
    url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers });
          }
        }
      : WebSocket,
    connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : undefined,
    retryAttempts: options.retryAttempts ?? 0,
    lazy: false,
    // Recorded through `closed` instead of printed.
    onNonLazyError: () => undefined,
    on: {
      connected: () => acknowledge(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        subscription.closed = { code, reason: String(reason) };
        refuse(new Error(`connection closed: ${code} ${String(reason)}`));
      },
    },
  });
  subscription.client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) subscription.errors.push(...result.errors);
        if (result.data) subscription.events.push(result.data as T);
      },
      error: (error) => subscription.errors.push(error),
      complete: () => undefined,
    },
  );
  return subscription;
}

/**
 * `subscribe` against the server `baseUrl()` names, for a test file: every
 * subscription opened through the returned function is disposed after the file's tests.
 */
export function useLiveSubscriptions(
  baseUrl: () => string,
): <T = Record<string, unknown>>(
  apiKey: string | null,
  query: string,
  variables?: Record<string, unknown>,
  options?: LiveOptions,
) => LiveSubscription<T> {
  const open: Array<LiveSubscription<unknown>> = [];
  afterAll(async () => {
    await Promise.all(open.map((subscription) => subscription.dispose()));
  });
  return <T>(apiKey: string | null, query: string, variables: Record<string, unknown> = {}, options: LiveOptions = {}) => {
    const subscription = subscribe<T>(baseUrl(), apiKey, query, variables, options);
    open.push(subscription as LiveSubscription<unknown>);
    return subscription;
  };
}
