/** The base of the public URLs the API hands out (invite links, /in, /ping, /status, /badge). */
import type { GraphQLContext } from "./builder.js";

/** Where users reach this installation: RUNLATER_PUBLIC_URL, or the address this request was sent to. */
export function publicBaseUrl(context: GraphQLContext): string {
  const { config } = context.services;
  if (config.publicUrl) return config.publicUrl;
  const forwardedProto = config.trustProxy ? context.request.headers.get("x-forwarded-proto") : null;
  const protocol = forwardedProto?.split(",")[0]?.trim() || (config.isProduction ? "https" : "http");
  // A WebSocket operation's request is made up from the upgrade's Host: its URL carries it, its headers do not.
  return `${protocol}://${context.request.headers.get("host") ?? new URL(context.request.url).host}`;
}
