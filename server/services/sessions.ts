/**
 * Browser sessions: an opaque random token in the `runlater_session` cookie,
 * stored only as its SHA-256 hash (like API keys, it carries 256 bits of
 * randomness, so a fast hash is right). Expiry slides: a session used within
 * its lifetime lives on for another SESSION_LIFETIME_MS.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Queryable } from "../db/pool.js";
import { DomainError } from "../errors.js";
import type { MemberRole } from "../generated/prisma/enums.js";
import type { Principal } from "./api-keys.js";

export const SESSION_LIFETIME_MS = 14 * 24 * 3_600_000;
/** Expiry is pushed forward at most this often, so authentication does not write on every request. */
const REFRESH_RESOLUTION_MS = 3_600_000;

export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * The value of the `runlater_csrf` cookie and `X-CSRF-Token` header for a
 * session: derived from its token, so it cannot be forged or planted (a cookie
 * injected from a sibling domain would not match the session) and needs no storage.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`runlater-csrf:${sessionToken}`).digest("base64url");
}

export interface CreatedSession {
  id: string;
  token: string;
  expiresAt: Date;
}

export async function createSession(db: Queryable, userId: string, organizationId: string, now = new Date()): Promise<CreatedSession> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO sessions (id, hashed_token, user_id, organization_id, expires_at)
     VALUES (gen_random_uuid(), $1, $2, $3, $4) RETURNING id`,
    [hashSessionToken(token), userId, organizationId, expiresAt],
  );
  return { id: (rows[0] as { id: string }).id, token, expiresAt };
}

export interface SessionAuthentication {
  principal: Principal;
  /** Set when the expiry moved: the cookies should be sent again with the new lifetime. */
  refreshedUntil: Date | null;
}

/**
 * Resolves a session token to its principal, or null when unknown or expired.
 * A session whose organisation the user has left moves to another of the
 * user's organisations; a user with none left is signed out.
 */
export async function authenticateSession(db: Queryable, token: string, now = new Date()): Promise<SessionAuthentication | null> {
  const { rows } = await db.query<{
    id: string;
    userId: string;
    organizationId: string;
    expiresAt: Date;
    role: MemberRole | null;
  }>(
    `SELECT s.id, s.user_id AS "userId", s.organization_id AS "organizationId", s.expires_at AS "expiresAt", m.role
     FROM sessions s LEFT JOIN memberships m ON m.user_id = s.user_id AND m.organization_id = s.organization_id
     WHERE s.hashed_token = $1 AND s.expires_at > $2`,
    [hashSessionToken(token), now],
  );
  const session = rows[0];
  if (!session) return null;
  let { organizationId, role } = session;
  if (!role) {
    const fallback = await db.query<{ organizationId: string; role: MemberRole }>(
      `UPDATE sessions SET organization_id = m.organization_id
       FROM (SELECT organization_id, role FROM memberships WHERE user_id = $2 ORDER BY created_at LIMIT 1) m
       WHERE sessions.id = $1 RETURNING m.organization_id AS "organizationId", m.role`,
      [session.id, session.userId],
    );
    if (!fallback.rows[0]) {
      await deleteSession(db, session.id);
      return null;
    }
    ({ organizationId, role } = fallback.rows[0]);
  }
  let refreshedUntil: Date | null = null;
  if (session.expiresAt.getTime() - now.getTime() < SESSION_LIFETIME_MS - REFRESH_RESOLUTION_MS) {
    refreshedUntil = new Date(now.getTime() + SESSION_LIFETIME_MS);
    await db.query("UPDATE sessions SET expires_at = $2 WHERE id = $1", [session.id, refreshedUntil]);
  }
  return {
    principal: { via: "session", organizationId, role, userId: session.userId, apiKeyId: null, sessionId: session.id },
    refreshedUntil,
  };
}

export async function deleteSession(db: Queryable, sessionId: string): Promise<void> {
  await db.query("DELETE FROM sessions WHERE id = $1", [sessionId]);
}

/** Moves a session to another organisation of its user; refused unless the user is a member there. */
export async function switchSessionOrganization(db: Queryable, principal: Principal, organizationId: string): Promise<void> {
  const sessionId = requireSession(principal, "switch organisation");
  const { rowCount } = await db.query(
    `UPDATE sessions SET organization_id = $2 WHERE id = $1
       AND EXISTS (SELECT 1 FROM memberships WHERE user_id = sessions.user_id AND organization_id = $2)`,
    [sessionId, organizationId],
  );
  if (!rowCount)
    throw new DomainError("NOT_FOUND", `organization ${organizationId} was not found among yours`, { field: "organizationId" });
}

/** Operations about a person (switching, creating organisations) need a signed-in user, not an API key. */
export function requireSession(principal: Principal, what: string): string {
  if (principal.via !== "session" || !principal.sessionId) {
    throw new DomainError("FORBIDDEN", `only a signed-in user can ${what}; API keys belong to one organisation`);
  }
  return principal.sessionId;
}

/** Removes expired sessions (worker/retention-sweeper.ts, every few minutes), so the table does not grow without bound. */
export async function deleteExpiredSessions(db: Queryable, now = new Date()): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM sessions WHERE expires_at <= $1", [now]);
  return rowCount ?? 0;
}
