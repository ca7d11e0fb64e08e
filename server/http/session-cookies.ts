/**
 * The browser's cookies: `runlater_session` (the session token; HttpOnly,
 * SameSite=Lax) and `runlater_csrf` (readable by the dashboard's JavaScript,
 * SameSite=Strict), which it sends back as `X-CSRF-Token` on every request
 * that is not GET or HEAD. Both carry `Secure` in production.
 */
import { timingSafeEqual } from "node:crypto";
import { csrfTokenFor } from "../services/sessions.js";

export const SESSION_COOKIE = "runlater_session";
export const CSRF_COOKIE = "runlater_csrf";
export const CSRF_HEADER = "x-csrf-token";

/** The cookies of a `Cookie` header, by name (the first of a repeated name wins, as browsers send the most specific first). */
export function parseCookies(header: string | null | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const separator = part.indexOf("=");
    if (separator < 0) continue;
    const name = part.slice(0, separator).trim();
    if (!name || cookies.has(name)) continue;
    const value = part.slice(separator + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      cookies.set(name, value);
    }
  }
  return cookies;
}

function cookie(
  name: string,
  value: string,
  attributes: { httpOnly: boolean; sameSite: "Lax" | "Strict"; maxAgeSeconds: number; secure: boolean },
) {
  return [
    `${name}=${value}`,
    "Path=/",
    `Max-Age=${attributes.maxAgeSeconds}`,
    ...(attributes.maxAgeSeconds > 0 ? [`Expires=${new Date(Date.now() + attributes.maxAgeSeconds * 1000).toUTCString()}`] : []),
    ...(attributes.httpOnly ? ["HttpOnly"] : []),
    `SameSite=${attributes.sameSite}`,
    ...(attributes.secure ? ["Secure"] : []),
  ].join("; ");
}

/** Set-Cookie values starting (or extending) a session until `expiresAt`. */
export function sessionCookies(token: string, expiresAt: Date, secure: boolean): string[] {
  const maxAgeSeconds = Math.max(1, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [
    cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: "Lax", maxAgeSeconds, secure }),
    cookie(CSRF_COOKIE, csrfTokenFor(token), { httpOnly: false, sameSite: "Strict", maxAgeSeconds, secure }),
  ];
}

/** Set-Cookie values removing both cookies. */
export function clearedSessionCookies(secure: boolean): string[] {
  return [
    cookie(SESSION_COOKIE, "", { httpOnly: true, sameSite: "Lax", maxAgeSeconds: 0, secure }),
    cookie(CSRF_COOKIE, "", { httpOnly: false, sameSite: "Strict", maxAgeSeconds: 0, secure }),
  ];
}

/** Whether `header` is the CSRF token of the session `sessionToken`, compared in constant time. */
export function isValidCsrfToken(sessionToken: string, header: string | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
