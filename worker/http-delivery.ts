/**
 * The HTTP client that delivers task requests to their targets.
 *
 * `deliver` never throws for anything the target or the network does: every
 * attempt ends in a `DeliveryOutcome` that the retry policy judges and the
 * worker stores. Properties the rest of Runlater relies on:
 * - the target policy holds at connect time, for hostnames (guarded DNS lookup)
 *   and IP literals alike, so DNS rebinding cannot reach private addresses;
 * - redirects are never followed (a redirect could point anywhere, and the 3xx
 *   is reported to the user as it is);
 * - `timeoutMs` bounds the whole exchange, body included;
 * - at most `maxResponseBodyBytes` of a response are read; the rest is dropped
 *   with the connection, so a huge response costs neither memory nor time;
 * - connections are pooled per origin and kept alive between attempts.
 */
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { Agent, buildConnector } from "undici";
import { createGuardedLookup, forbiddenAddressError, isForbiddenAddress } from "../server/services/target-policy.js";

export interface DeliveryRequest {
  url: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers: Record<string, string>;
  /** Text is sent as UTF-8; bytes as they are. */
  body: string | Buffer | null;
  timeoutMs: number;
}

export type DeliveryOutcome =
  | {
      kind: "response";
      status: number;
      /** Lower-case names; repeated headers joined with ", ". */
      headers: Record<string, string>;
      /** The first `maxResponseBodyBytes` of the body, decoded as UTF-8. */
      body: string;
      bodyTruncated: boolean;
      durationMs: number;
    }
  | { kind: "timeout"; durationMs: number; error: string }
  | { kind: "network-error"; durationMs: number; error: string; code?: string }
  | { kind: "target-not-allowed"; durationMs: number; error: string };

export interface HttpDelivererOptions {
  /** Allow loopback, private and link-local targets (development, self-hosting on a LAN). */
  allowPrivateTargets: boolean;
  /** How much of a response body is kept. Default 64 KiB. */
  maxResponseBodyBytes?: number;
  /** Sent when the request has no User-Agent of its own. */
  userAgent?: string;
  /** Most sockets open to one origin at once, so one slow target cannot take them all. Default 32. */
  connections?: number;
}

export interface HttpDeliverer {
  deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<DeliveryOutcome>;
  /** Waits for in-flight requests, then closes every pooled connection. */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;
const SHUTDOWN_MESSAGE = "aborted: worker shutting down";
/**
 * Requests to one origin beyond this many wait for a free keep-alive socket.
 * At 8, a worker running 100 attempts against one fast endpoint spent most of
 * each attempt queued for a socket (49–72 ms of waiting per request against a
 * loopback sink answering in a few ms); 32 lets one busy target use a third of
 * a default worker while leaving the rest to other targets.
 */
export const DEFAULT_CONNECTIONS_PER_HOST = 32;
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function createGuardedConnector(allowPrivateTargets: boolean): buildConnector.connector {
  const connectSocket = buildConnector({
    lookup: createGuardedLookup({ allowPrivateTargets }),
    timeout: CONNECT_TIMEOUT_MS,
  });
  if (allowPrivateTargets) return connectSocket;
  return (connectOptions, callback) => {
    // Node connects to an IP-literal host without calling `lookup`, so the
    // guarded lookup never sees http://127.0.0.1/ or http://[::1]/.
    const { hostname } = connectOptions;
    if (isIP(hostname) !== 0 && isForbiddenAddress(hostname)) {
      callback(forbiddenAddressError(hostname, hostname), null);
      return;
    }
    connectSocket(connectOptions, callback);
  };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function describeError(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code } = error as { code?: unknown };
  // With happy eyeballs Node reports one failure per address tried, and an empty message.
  const message =
    error instanceof AggregateError && error.message === ""
      ? error.errors.map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner))).join("; ")
      : error.message;
  return { message: message || error.name, ...(typeof code === "string" ? { code } : {}) };
}

/**
 * At most `limit` requests at once per origin; the others wait their turn in order. The deliverer takes a place here
 * before it starts an attempt's timeout: waiting behind another organisation's slow requests to the same host is not
 * the host being slow, and must not time the attempt out, use up a retry or count towards its circuit breaker.
 * Undici's own per-origin limit (the same number) then never queues anything.
 */
class OriginPlaces {
  private readonly origins = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(private readonly limit: number) {}

  /** Resolves with a release function once the origin has a free place; rejects if `signal` aborts first. */
  take(origin: string, signal?: AbortSignal): Promise<() => void> {
    let state = this.origins.get(origin);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.origins.set(origin, state);
    }
    const held = state;
    const release = () => {
      const next = held.waiting.shift();
      if (next) return next();
      held.active -= 1;
      if (held.active === 0) this.origins.delete(origin);
    };
    if (held.active < this.limit) {
      held.active += 1;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        signal?.removeEventListener("abort", aborted);
        resolve(release);
      };
      const aborted = () => {
        held.waiting.splice(held.waiting.indexOf(granted), 1);
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", aborted, { once: true });
      held.waiting.push(granted);
    });
  }
}

export function createHttpDeliverer(options: HttpDelivererOptions): HttpDeliverer {
  const maxResponseBodyBytes = options.maxResponseBodyBytes ?? 64 * 1024;
  const userAgent = options.userAgent ?? "Runlater";
  const connectionsPerOrigin = options.connections ?? DEFAULT_CONNECTIONS_PER_HOST;
  const places = new OriginPlaces(connectionsPerOrigin);
  const agent = new Agent({
    connect: createGuardedConnector(options.allowPrivateTargets),
    connections: connectionsPerOrigin,
    // One request at a time per socket: pipelining lets one slow response delay others.
    pipelining: 1,
    // Idle sockets live 4 s, under Node's default 5 s server keep-alive so we do
    // not reuse a socket the server is closing; longer when the server's
    // Keep-Alive header says so, up to a minute.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
  });

  async function deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<DeliveryOutcome> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      const { message, code } = describeError(error);
      return { kind: "network-error", durationMs: 0, error: message, ...(code ? { code } : {}) };
    }
    let release: () => void;
    try {
      release = await places.take(url.origin, signal);
    } catch {
      return { kind: "network-error", durationMs: 0, error: SHUTDOWN_MESSAGE, code: "ABORTED" };
    }
    try {
      return await send(request, url, signal);
    } finally {
      release();
    }
  }

  /** Sends the request on a connection of its origin's (the caller holds a place), within its timeout. */
  async function send(request: DeliveryRequest, url: URL, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    const timedOut = new Error(`timed out after ${request.timeoutMs} ms`);
    const shuttingDown = new Error(SHUTDOWN_MESSAGE);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timedOut), request.timeoutMs);
    const abortForShutdown = () => controller.abort(shuttingDown);
    if (signal?.aborted) abortForShutdown();
    signal?.addEventListener("abort", abortForShutdown, { once: true });

    const headers = { ...request.headers };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === "user-agent")) {
      headers["user-agent"] = userAgent;
    }

    try {
      const response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers,
        body: request.body,
        signal: controller.signal,
        // Our own timer bounds the whole exchange; undici's would only bound parts of it.
        headersTimeout: 0,
        bodyTimeout: 0,
      });

      const chunks: Buffer[] = [];
      let received = 0;
      let bodyTruncated = false;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        const room = maxResponseBodyBytes - received;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          bodyTruncated = true;
          // Leaving the loop destroys the body stream, which closes the connection
          // instead of downloading the rest.
          break;
        }
        chunks.push(chunk);
        received += chunk.length;
      }

      return {
        kind: "response",
        status: response.statusCode,
        headers: flattenHeaders(response.headers),
        body: Buffer.concat(chunks).toString("utf8"),
        bodyTruncated,
        durationMs: elapsed(),
      };
    } catch (error) {
      const durationMs = elapsed();
      if (controller.signal.reason === timedOut) {
        return { kind: "timeout", durationMs, error: timedOut.message };
      }
      if (controller.signal.reason === shuttingDown) {
        return { kind: "network-error", durationMs, error: shuttingDown.message, code: "ABORTED" };
      }
      const { message, code } = describeError(error);
      if (code === "TARGET_NOT_ALLOWED") return { kind: "target-not-allowed", durationMs, error: message };
      if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: "timeout", durationMs, error: message };
      return { kind: "network-error", durationMs, error: message, ...(code ? { code } : {}) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abortForShutdown);
    }
  }

  return {
    deliver,
    close: () => agent.close(),
  };
}
