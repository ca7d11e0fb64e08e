/**
 * API keys: random bearer tokens shown once, stored as SHA-256 hashes.
 * A fast hash is right here (unlike passwords): keys carry 256 bits of
 * randomness, so there is nothing to brute-force.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Queryable } from "../db/pool.js";
import { DomainError, notFound } from "../errors.js";
import type { MemberRole } from "../generated/prisma/enums.js";

const KEY_PREFIX = "rl_";
const VISIBLE_PREFIX_LENGTH = KEY_PREFIX.length + 8;
/** lastUsedAt is refreshed at most this often, so authentication does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyRow {
  id: string;
  organizationId: string;
  name: string;
  prefix: string;
  hashedKey: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/**
 * Who a request acts as. An API key acts for its organisation with full access
 * (no user, no role); a session acts for a user in the organisation the session
 * currently works in, with that user's role there.
 */
export interface Principal {
  via: "apiKey" | "session";
  organizationId: string;
  apiKeyId: string | null;
  userId: string | null;
  role: MemberRole | null;
  /** The session's id, for switching organisation and logging out. */
  sessionId: string | null;
}

const API_KEY_COLUMNS = `id, organization_id AS "organizationId", name, prefix, hashed_key AS "hashedKey", created_at AS "createdAt",
  last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

export function generateApiKeySecret(): string {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
}

export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Registers a key. Returns the row and the plaintext, which is never stored. */
export async function createApiKey(
  db: Queryable,
  organizationId: string,
  options: { name: string; secret?: string },
): Promise<{ apiKey: ApiKeyRow; secret: string }> {
  const name = options.name.trim();
  if (!name || name.length > 100) throw new DomainError("VALIDATION_FAILED", "name must be 1 to 100 characters", { field: "name" });
  const secret = options.secret ?? generateApiKeySecret();
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, organization_id, name, prefix, hashed_key) VALUES (gen_random_uuid(), $1, $2, $3, $4)
     RETURNING ${API_KEY_COLUMNS}`,
    [organizationId, name, secret.slice(0, VISIBLE_PREFIX_LENGTH), hashApiKey(secret)],
  );
  return { apiKey: rows[0] as ApiKeyRow, secret };
}

export async function revokeApiKey(db: Queryable, organizationId: string, apiKeyId: string): Promise<ApiKeyRow> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
     WHERE id = $1 AND organization_id = $2 RETURNING ${API_KEY_COLUMNS}`,
    [apiKeyId, organizationId],
  );
  if (!rows[0]) throw notFound("API key", apiKeyId);
  return rows[0];
}

/** A key that is not revoked, found by its secret's hash. */
export interface ActiveApiKey {
  principal: Principal;
  lastUsedAt: Date | null;
}

/** Whether `secret` has the shape of an API key: anything else is refused without a query. */
export function isApiKeySecret(secret: string): boolean {
  return secret.startsWith(KEY_PREFIX);
}

export async function findActiveApiKey(db: Queryable, hashedKey: string): Promise<ActiveApiKey | null> {
  const { rows } = await db.query<{ id: string; organizationId: string; lastUsedAt: Date | null }>(
    `SELECT id, organization_id AS "organizationId", last_used_at AS "lastUsedAt"
     FROM api_keys WHERE hashed_key = $1 AND revoked_at IS NULL`,
    [hashedKey],
  );
  const key = rows[0];
  if (!key) return null;
  return {
    principal: { via: "apiKey", organizationId: key.organizationId, apiKeyId: key.id, userId: null, role: null, sessionId: null },
    lastUsedAt: key.lastUsedAt,
  };
}

/** Moves the key's lastUsedAt to `now` when it is more than a minute old, so authentication does not write on every request. */
export async function recordApiKeyUse(db: Queryable, key: ActiveApiKey, now: Date): Promise<void> {
  if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() <= LAST_USED_RESOLUTION_MS) return;
  key.lastUsedAt = now;
  await db.query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", [key.principal.apiKeyId, now]);
}
