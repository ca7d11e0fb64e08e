/**
 * The client's address, for throttling and for what inbound events and pings record. Behind a trusted reverse proxy
 * (RUNLATER_TRUST_PROXY) it is the last X-Forwarded-For entry: the one the proxy itself appended. Earlier entries are
 * whatever the client sent, and would let it pass for any address.
 */
import type http from "node:http";

export function clientAddressOf(request: http.IncomingMessage, trustProxy: boolean): string {
  const forwarded = request.headers["x-forwarded-for"];
  if (trustProxy && forwarded) {
    const last = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded).split(",").pop()?.trim();
    if (last) return last;
  }
  return request.socket.remoteAddress ?? "unknown";
}
