/**
 * Public routes: reached without an API key, by senders and monitors that
 * know an unguessable slug or token. Each route is a thin transport over a
 * service.
 *
 *   ANY /in/{slug}[/more/path]   inbound webhook: store, verify, forward; 202
 */
import type http from "node:http";
import type { Services } from "../runtime.js";
import { INBOUND_PATH_PREFIX } from "../services/inbound-endpoints.js";
import { MAX_INBOUND_BODY_BYTES, receiveInboundEvent } from "../services/inbound-events.js";
import { errorBody, jsonResponse } from "./errors.js";

type PublicRoute = (services: Services, request: http.IncomingMessage, url: URL) => Promise<Response>;

const ROUTES: Array<[prefix: string, route: PublicRoute]> = [[INBOUND_PATH_PREFIX, receiveInbound]];

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

/** The client's address: the socket's, or the first X-Forwarded-For hop behind a trusted proxy. */
export function clientAddress(services: Services, request: http.IncomingMessage): string {
  const forwarded = request.headers["x-forwarded-for"];
  if (services.config.trustProxy && typeof forwarded === "string" && forwarded.trim()) {
    return (forwarded.split(",")[0] as string).trim();
  }
  return request.socket.remoteAddress ?? "";
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
    sourceIp: clientAddress(services, request),
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
