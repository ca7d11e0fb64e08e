/**
 * Public routes: reached without an API key, by senders and monitors that
 * know an unguessable slug or token. Each route is a thin transport over a
 * service.
 *
 *   ANY /in/{slug}[/more/path]   inbound webhook: store, verify, forward; 202
 *   GET|POST /ping/{token}[/start|/fail|/{exitCode}]   heartbeat of a monitor; 200
 *   GET /status/{slug}            an organisation's status page (HTML)
 *   GET /badge/{token}/status.svg, /badge/{token}/uptime.svg   badges of a published resource
 */
import type http from "node:http";
import type { Services } from "../runtime.js";
import { utf8Prefix } from "../services/callbacks.js";
import { INBOUND_PATH_PREFIX } from "../services/inbound-endpoints.js";
import { MAX_INBOUND_BODY_BYTES, receiveInboundEvent } from "../services/inbound-events.js";
import type { MonitorPingKind } from "../services/monitor-status.js";
import { monitorLimits, PING_PATH_PREFIX, recordPing } from "../services/monitors.js";
import { BADGE_PATH_PREFIX, loadBadge, loadPublicStatusPage, STATUS_PATH_PREFIX } from "../services/status-pages.js";
import { statusBadge, uptimeBadge } from "./badge-svg.js";
import { clientAddressOf } from "./client-address.js";
import { errorBody, jsonResponse } from "./errors.js";
import { renderStatusPage } from "./status-page-html.js";

type PublicRoute = (services: Services, request: http.IncomingMessage, url: URL) => Promise<Response>;

const ROUTES: Array<[prefix: string, route: PublicRoute]> = [
  [INBOUND_PATH_PREFIX, receiveInbound],
  [PING_PATH_PREFIX, receivePing],
  [STATUS_PATH_PREFIX, serveStatusPage],
  [BADGE_PATH_PREFIX, serveBadge],
];

/** The public route serving `pathname`, or null when the path belongs to the API. */
export function publicRouteFor(pathname: string): PublicRoute | null {
  for (const [prefix, route] of ROUTES) if (pathname.startsWith(prefix)) return route;
  return null;
}

class BodyTooLarge extends Error {}

/** Reads the whole body, refusing more than `limit` bytes before buffering them. */
export async function readLimitedBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(request.headers["content-length"] ?? 0) > limit) {
    request.resume();
    throw new BodyTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      request.resume();
      throw new BodyTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function receiveInbound(services: Services, request: http.IncomingMessage, url: URL): Promise<Response> {
  const rest = url.pathname.slice(INBOUND_PATH_PREFIX.length);
  const slash = rest.indexOf("/");
  const slug = slash < 0 ? rest : rest.slice(0, slash);
  let body: Buffer;
  try {
    body = await readLimitedBody(request, MAX_INBOUND_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      return jsonResponse(413, errorBody("PAYLOAD_TOO_LARGE", `an inbound webhook body may be at most ${MAX_INBOUND_BODY_BYTES} bytes`));
    }
    throw error;
  }
  const outcome = await receiveInboundEvent(services, slug, {
    method: request.method ?? "POST",
    path: slash < 0 ? "" : rest.slice(slash),
    query: url.search.replace(/^\?/, ""),
    headers: request.headers,
    body,
    sourceIp: clientAddressOf(request, services.config.trustProxy),
  });
  switch (outcome.kind) {
    case "unknown-endpoint":
      return jsonResponse(404, errorBody("NOT_FOUND", "no inbound endpoint at this URL"));
    case "rejected":
      return jsonResponse(401, { ...errorBody("UNAUTHENTICATED", outcome.reason), eventId: outcome.eventId });
    case "accepted":
      return jsonResponse(202, { id: outcome.eventId, status: "ACCEPTED", deliveries: outcome.deliveries });
  }
}

/** A ping body larger than this is refused; only the first 10 KiB are kept anyway. */
const MAX_PING_REQUEST_BYTES = 1024 * 1024;

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/** `start`, `fail` or an exit code after the token; null for anything else. */
function pingKind(action: string | undefined): { kind: MonitorPingKind; exitCode: number | null } | null {
  if (action === undefined || action === "") return { kind: "SUCCESS", exitCode: null };
  if (action === "start") return { kind: "START", exitCode: null };
  if (action === "fail") return { kind: "FAIL", exitCode: null };
  if (/^\d{1,3}$/.test(action) && Number(action) <= 255) {
    const exitCode = Number(action);
    return { kind: exitCode === 0 ? "SUCCESS" : "FAIL", exitCode };
  }
  return null;
}

async function receivePing(services: Services, request: http.IncomingMessage, url: URL): Promise<Response> {
  if (!["GET", "POST", "HEAD"].includes(request.method ?? "")) return textResponse(405, "use GET or POST");
  const [token = "", action, ...extra] = url.pathname.slice(PING_PATH_PREFIX.length).split("/");
  const kind = pingKind(action);
  if (!kind || extra.length > 0) return textResponse(404, "not found: use /ping/<token>, /start, /fail or /<exit code 0-255>");
  let body: Buffer;
  try {
    body = await readLimitedBody(request, MAX_PING_REQUEST_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) return textResponse(413, `a ping body may be at most ${MAX_PING_REQUEST_BYTES} bytes`);
    throw error;
  }
  const text =
    body.length === 0
      ? null
      : utf8Prefix(body.subarray(0, monitorLimits.maxPingBodyBytes + 4).toString("utf8"), monitorLimits.maxPingBodyBytes);
  const monitor = await recordPing(services, token, {
    ...kind,
    body: text === null ? null : text.replaceAll("\u0000", "\uFFFD"),
    method: request.method ?? "GET",
    sourceIp: clientAddressOf(request, services.config.trustProxy),
    userAgent: request.headers["user-agent"] ?? null,
  });
  return monitor ? textResponse(200, "OK") : textResponse(404, "not found: no monitor with this token");
}

/** Public pages change at most as often as states do; a minute of caching spares the database a crowd. */
const PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=60";

function onlyGet(request: http.IncomingMessage): Response | null {
  return request.method === "GET" || request.method === "HEAD" ? null : textResponse(405, "use GET");
}

function withoutBodyForHead(request: http.IncomingMessage, response: Response): Response {
  return request.method === "HEAD" ? new Response(null, { status: response.status, headers: response.headers }) : response;
}

async function serveStatusPage(services: Services, request: http.IncomingMessage, url: URL): Promise<Response> {
  const refused = onlyGet(request);
  if (refused) return refused;
  const slug = url.pathname.slice(STATUS_PATH_PREFIX.length).replace(/\/$/, "");
  const now = new Date();
  const loaded = slug.includes("/") ? null : await loadPublicStatusPage(services.pool, slug, now);
  if (!loaded) return textResponse(404, "no status page here");
  const html = renderStatusPage(loaded.page, loaded.resources, now);
  return withoutBodyForHead(
    request,
    new Response(html, {
      status: 200,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": PUBLIC_CACHE_CONTROL,
        "last-modified": now.toUTCString(),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      },
    }),
  );
}

async function serveBadge(services: Services, request: http.IncomingMessage, url: URL): Promise<Response> {
  const refused = onlyGet(request);
  if (refused) return refused;
  const match = /^([A-Za-z0-9_-]+)\/(status|uptime)\.svg$/.exec(url.pathname.slice(BADGE_PATH_PREFIX.length));
  const resource = match ? await loadBadge(services.pool, match[1] as string) : null;
  if (!match || !resource) return textResponse(404, "no badge here");
  const svg = match[2] === "status" ? statusBadge(resource) : uptimeBadge(resource);
  return withoutBodyForHead(
    request,
    new Response(svg, {
      status: 200,
      headers: {
        "content-type": "image/svg+xml; charset=utf-8",
        "cache-control": PUBLIC_CACHE_CONTROL,
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      },
    }),
  );
}
