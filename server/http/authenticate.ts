/**
 * Who is calling. One place turns the credentials of an HTTP request or of a
 * WebSocket connection (graphql-ws `connectionParams` or the upgrade request's
 * headers) into a principal, so every transport authenticates the same way.
 *
 * An API key (`Authorization: Bearer …`) wins over a session cookie when both
 * are sent. A wrong key is rejected; an unknown or expired session cookie is
 * treated as no credentials (the browser still holds a cookie from before), so
 * a user can always reach logIn.
 */
import type { Services } from "../runtime.js";
import type { Principal } from "../services/api-keys.js";
import { authenticateSession } from "../services/sessions.js";
import { parseCookies, SESSION_COOKIE } from "./session-cookies.js";

/** The credentials a caller can present; each is optional. */
export interface Credentials {
  /** The `Authorization` header value (`Bearer <api key>`). */
  authorization?: string | null;
  /** The `Cookie` header value. */
  cookie?: string | null;
}

export type Authentication =
  | {
      outcome: "authenticated";
      principal: Principal;
      /** For a session: its token (the CSRF check derives from it) and its new expiry when it slid forward. */
      session?: { token: string; refreshedUntil: Date | null };
    }
  /** No credentials were presented; `staleSession` when a session cookie named no live session. */
  | { outcome: "anonymous"; staleSession?: boolean }
  /** Credentials were presented and are not valid; `message` says why, for the client. */
  | { outcome: "rejected"; message: string };

export async function authenticate(services: Pick<Services, "pool" | "apiKeys">, credentials: Credentials): Promise<Authentication> {
  const authorization = credentials.authorization?.trim();
  if (authorization) {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (!token) return { outcome: "rejected", message: "the Authorization header must be `Bearer <api key>`" };
    const principal = await services.apiKeys.authenticate(services.pool, token);
    return principal ? { outcome: "authenticated", principal } : { outcome: "rejected", message: "the API key is invalid or revoked" };
  }
  return authenticateCookieHeader(services, credentials.cookie);
}

/** Authenticates by the session cookie alone: for WebSocket upgrades, which carry the browser's cookies. */
export async function authenticateCookieHeader(
  services: Pick<Services, "pool">,
  cookieHeader: string | null | undefined,
): Promise<Authentication> {
  const token = parseCookies(cookieHeader).get(SESSION_COOKIE);
  if (!token) return { outcome: "anonymous" };
  const session = await authenticateSession(services.pool, token);
  if (!session) return { outcome: "anonymous", staleSession: true };
  return { outcome: "authenticated", principal: session.principal, session: { token, refreshedUntil: session.refreshedUntil } };
}
