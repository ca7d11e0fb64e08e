/**
 * Organisations' members and their roles. OWNER > ADMIN > MEMBER: owners and
 * admins manage API keys, the signing secret, members and invites; only owners
 * grant or take away ownership; an organisation always keeps at least one owner.
 * API keys act with full access to their organisation.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Pool, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, validationError } from "../errors.js";
import type { MemberRole } from "../generated/prisma/enums.js";
import type { Principal } from "./api-keys.js";
import { createOrganization } from "./organizations.js";

const RANK: Record<MemberRole, number> = { OWNER: 3, ADMIN: 2, MEMBER: 1 };

export interface MembershipRow {
  id: string;
  organizationId: string;
  userId: string;
  role: MemberRole;
  createdAt: Date;
}

const MEMBERSHIP_COLUMNS = `id, organization_id AS "organizationId", user_id AS "userId", role, created_at AS "createdAt"`;

function hasRole(principal: Principal, minimum: MemberRole): boolean {
  if (principal.via === "apiKey") return true;
  return principal.role !== null && RANK[principal.role] >= RANK[minimum];
}

/** Refuses with FORBIDDEN unless the caller has at least `minimum` (API keys always pass). */
export function requireRole(principal: Principal, minimum: MemberRole, what: string): void {
  if (!hasRole(principal, minimum)) {
    throw new DomainError("FORBIDDEN", `only ${minimum === "OWNER" ? "an owner" : "an owner or admin"} can ${what}`);
  }
}

export async function addMembership(db: Queryable, organizationId: string, userId: string, role: MemberRole): Promise<MembershipRow> {
  const { rows } = await db.query<MembershipRow>(
    `INSERT INTO memberships (id, organization_id, user_id, role) VALUES ($1, $2, $3, $4)
     ON CONFLICT (organization_id, user_id) DO NOTHING RETURNING ${MEMBERSHIP_COLUMNS}`,
    [randomUUID(), organizationId, userId, role],
  );
  if (!rows[0]) throw new DomainError("CONFLICT", "you are already a member of this organisation");
  return rows[0];
}

export function validateOrganizationName(name: string, field = "name"): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100) throw validationError(field, "name must be 1 to 100 characters");
  return trimmed;
}

/** A new organisation owned by `userId`. */
export async function createOwnedOrganization(db: Queryable, userId: string, name: string, field = "name"): Promise<string> {
  const organizationName = validateOrganizationName(name, field);
  const base =
    organizationName
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "org";
  const { id } = await createOrganization(db, { name: organizationName, slug: `${base}-${randomBytes(3).toString("hex")}` });
  await addMembership(db, id, userId, "OWNER");
  return id;
}

/**
 * Changes a member's role. Admins manage admins and members; only an owner
 * makes someone an owner or changes an owner's role; the last owner stays one.
 */
export async function updateMemberRole(pool: Pool, principal: Principal, userId: string, role: MemberRole): Promise<MembershipRow> {
  requireRole(principal, "ADMIN", "change members' roles");
  if (role === "OWNER") requireRole(principal, "OWNER", "make someone an owner");
  return withTransaction(pool, async (client) => {
    const target = await lockMembership(client, principal.organizationId, userId);
    if (target.role === "OWNER") {
      requireRole(principal, "OWNER", "change an owner's role");
      if (role !== "OWNER") await refuseLastOwner(client, principal.organizationId, "demote");
    }
    const { rows } = await client.query<MembershipRow>(`UPDATE memberships SET role = $2 WHERE id = $1 RETURNING ${MEMBERSHIP_COLUMNS}`, [
      target.id,
      role,
    ]);
    return rows[0] as MembershipRow;
  });
}

/** Removes a member (anyone may remove themselves: leaving). The last owner cannot be removed. */
export async function removeMember(pool: Pool, principal: Principal, userId: string): Promise<void> {
  const leaving = principal.userId === userId;
  if (!leaving) requireRole(principal, "ADMIN", "remove members");
  await withTransaction(pool, async (client) => {
    const target = await lockMembership(client, principal.organizationId, userId);
    if (target.role === "OWNER") {
      if (!leaving) requireRole(principal, "OWNER", "remove an owner");
      await refuseLastOwner(client, principal.organizationId, "remove");
    }
    await client.query("DELETE FROM memberships WHERE id = $1", [target.id]);
  });
}

async function lockMembership(db: Queryable, organizationId: string, userId: string): Promise<MembershipRow> {
  // Owners' rows are locked together (below), so two concurrent demotions cannot leave no owner.
  await db.query("SELECT id FROM memberships WHERE organization_id = $1 AND role = 'OWNER' FOR UPDATE", [organizationId]);
  const { rows } = await db.query<MembershipRow>(
    `SELECT ${MEMBERSHIP_COLUMNS} FROM memberships WHERE organization_id = $1 AND user_id = $2 FOR UPDATE`,
    [organizationId, userId],
  );
  if (!rows[0]) throw new DomainError("NOT_FOUND", `user ${userId} is not a member of this organisation`, { field: "userId" });
  return rows[0];
}

async function refuseLastOwner(db: Queryable, organizationId: string, action: "demote" | "remove"): Promise<void> {
  const { rows } = await db.query<{ owners: number }>(
    "SELECT count(*) AS owners FROM memberships WHERE organization_id = $1 AND role = 'OWNER'",
    [organizationId],
  );
  if ((rows[0]?.owners ?? 0) <= 1) {
    throw new DomainError("CONFLICT", `cannot ${action} the last owner: make another member an owner first`, { field: "userId" });
  }
}

export async function findMembershipRole(db: Queryable, organizationId: string, userId: string): Promise<MemberRole | null> {
  const { rows } = await db.query<{ role: MemberRole }>("SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2", [
    organizationId,
    userId,
  ]);
  return rows[0]?.role ?? null;
}
