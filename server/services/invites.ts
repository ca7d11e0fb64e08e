/**
 * Invites: a link holding a random token (only its hash is stored) that makes
 * whoever redeems it a member with the invite's role. Single use, valid for
 * INVITE_LIFETIME_MS, revocable; optionally bound to one email address.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Queryable } from "../db/pool.js";
import { DomainError, notFound } from "../errors.js";
import type { MemberRole } from "../generated/prisma/enums.js";
import type { Principal } from "./api-keys.js";
import { addMembership, type MembershipRow, requireRole } from "./memberships.js";
import { normalizeEmail } from "./users.js";

export const INVITE_LIFETIME_MS = 7 * 24 * 3_600_000;
const INVITE_PREFIX = "rli_";

export interface InviteRow {
  id: string;
  organizationId: string;
  hashedToken: string;
  role: MemberRole;
  email: string | null;
  invitedById: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedById: string | null;
  revokedAt: Date | null;
}

const INVITE_COLUMNS = `id, organization_id AS "organizationId", hashed_token AS "hashedToken", role, email, invited_by_id AS "invitedById", created_at AS "createdAt",
  expires_at AS "expiresAt", accepted_at AS "acceptedAt", accepted_by_id AS "acceptedById", revoked_at AS "revokedAt"`;

function hashInviteToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates an invite; returns it with its token (shown once). Granting OWNER takes an owner. */
export async function createInvite(
  db: Queryable,
  principal: Principal,
  input: { role: MemberRole; email?: string | null },
  now = new Date(),
): Promise<{ invite: InviteRow; token: string }> {
  requireRole(principal, "ADMIN", "invite members");
  if (input.role === "OWNER") requireRole(principal, "OWNER", "invite an owner");
  const email = input.email ? normalizeEmail(input.email, "input.email") : null;
  const token = INVITE_PREFIX + randomBytes(32).toString("base64url");
  const { rows } = await db.query<InviteRow>(
    `INSERT INTO invites (id, organization_id, hashed_token, role, email, invited_by_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${INVITE_COLUMNS}`,
    [
      randomUUID(),
      principal.organizationId,
      hashInviteToken(token),
      input.role,
      email,
      principal.userId,
      now,
      new Date(now.getTime() + INVITE_LIFETIME_MS),
    ],
  );
  return { invite: rows[0] as InviteRow, token };
}

export async function revokeInvite(db: Queryable, principal: Principal, inviteId: string): Promise<InviteRow> {
  requireRole(principal, "ADMIN", "revoke invites");
  const { rows } = await db.query<InviteRow>(
    `UPDATE invites SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND organization_id = $2 RETURNING ${INVITE_COLUMNS}`,
    [inviteId, principal.organizationId],
  );
  if (!rows[0]) throw notFound("invite", inviteId);
  return rows[0];
}

/**
 * Redeems an invite for a user (run it in a transaction): the user becomes a
 * member with the invite's role, and the invite is used up. Any unusable
 * invite is refused with one message, naming `field`.
 */
export async function redeemInvite(
  db: Queryable,
  token: string,
  user: { id: string; email: string },
  field: string,
  now = new Date(),
): Promise<MembershipRow> {
  const { rows } = await db.query<InviteRow>(`SELECT ${INVITE_COLUMNS} FROM invites WHERE hashed_token = $1 FOR UPDATE`, [
    hashInviteToken(token.trim()),
  ]);
  const invite = rows[0];
  if (!invite || invite.acceptedAt || invite.revokedAt || invite.expiresAt <= now) {
    throw new DomainError("VALIDATION_FAILED", "the invite is invalid, expired, revoked or already used", { field });
  }
  if (invite.email && invite.email !== user.email) {
    throw new DomainError("FORBIDDEN", "this invite is for another email address", { field });
  }
  const membership = await addMembership(db, invite.organizationId, user.id, invite.role);
  await db.query("UPDATE invites SET accepted_at = $2, accepted_by_id = $3 WHERE id = $1", [invite.id, now, user.id]);
  return membership;
}
