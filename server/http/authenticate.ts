/**
 * Who is calling. One place turns the credentials of an HTTP request or of a
 * WebSocket connection (graphql-ws `connectionParams` or the upgrade request's
 * headers) into a principal, so every transport authenticates the same way.
 */
import type { Services } from "../runtime.js";
import { authenticateApiKey, type Principal } from "../services/api-keys.js";

/** The credentials a caller can present; each is optional. */
export interface Credentials {
  /** The `Authorization` header value (`Bearer <api key>`). */
  authorization?: string | null;
  /** The `Cookie` header value. */
  cookie?: string | null;
}

export type Authentication =
  | { outcome: "authenticated"; principal: Principal }
  /** No credentials were presented. */
  | { outcome: "anonymous" }
  /** Credentials were presented and are not valid; `message` says why, for the client. */
  | { outcome: "rejected"; message: string };

export async function authenticate(services: Pick<Services, "pool">, credentials: Credentials): Promise<Authentication> {
  const authorization = credentials.authorization?.trim();
  if (authorization) {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (!token) return { outcome: "rejected", message: "the Authorization header must be `Bearer <api key>`" };
    const principal = await authenticateApiKey(services.pool, token);
    return principal ? { outcome: "authenticated", principal } : { outcome: "rejected", message: "the API key is invalid or revoked" };
  }
  return { outcome: "anonymous" };
}
