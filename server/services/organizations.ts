/** Organisations (tenants) and their request-signing secrets. */
import { randomBytes, randomUUID } from "node:crypto";
import type { Pool, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { notFound } from "../errors.js";
import { createApiKey } from "./api-keys.js";

export interface SigningSecrets {
  current: string;
  /** The secret replaced by the last rotation, while it is still accepted. */
  previous: string | null;
  previousExpiresAt: Date | null;
}

export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

export async function createOrganization(db: Queryable, options: { name: string; slug: string }): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO organizations (id, name, slug, signing_secret) VALUES ($1, $2, $3, $4) RETURNING id",
    [randomUUID(), options.name, options.slug, generateSigningSecret()],
  );
  return rows[0] as { id: string };
}

/**
 * On an empty installation, creates the default organisation and its first API key.
 * With `bootstrapApiKey`, that value is registered (when the organisation has no key yet)
 * instead of a random one. Returns the plaintext key only when one was created now.
 * Safe to call from several processes starting at once.
 */
export async function bootstrapDefaultOrganization(
  pool: Pool,
  options: { bootstrapApiKey?: string | undefined },
): Promise<{ organizationId: string; createdApiKey: string | null }> {
  return withTransaction(pool, async (client) => {
    // Serialises concurrent first starts: only one creates the organisation and key.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runlater:bootstrap'))");
    const existing = await client.query<{ id: string }>("SELECT id FROM organizations ORDER BY created_at LIMIT 1");
    const organizationId = existing.rows[0]?.id ?? (await createOrganization(client, { name: "Default", slug: "default" })).id;
    const keys = await client.query("SELECT 1 FROM api_keys WHERE organization_id = $1 LIMIT 1", [organizationId]);
    if (keys.rowCount) return { organizationId, createdApiKey: null };
    const { secret } = await createApiKey(client, organizationId, {
      name: options.bootstrapApiKey ? "Bootstrap key" : "Default key",
      secret: options.bootstrapApiKey,
    });
    return { organizationId, createdApiKey: secret };
  });
}

export async function getSigningSecrets(db: Queryable, organizationId: string, now = new Date()): Promise<SigningSecrets> {
  const { rows } = await db.query<{ current: string; previous: string | null; previousExpiresAt: Date | null }>(
    `SELECT signing_secret AS current, previous_signing_secret AS previous,
            previous_signing_secret_expires_at AS "previousExpiresAt"
     FROM organizations WHERE id = $1`,
    [organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound("organization", organizationId);
  const previousValid = row.previous !== null && row.previousExpiresAt !== null && row.previousExpiresAt > now;
  return {
    current: row.current,
    previous: previousValid ? row.previous : null,
    previousExpiresAt: previousValid ? row.previousExpiresAt : null,
  };
}

/** Makes a new current secret; the old one keeps being sent alongside it for `graceMs`. */
export async function rotateSigningSecret(db: Queryable, organizationId: string, graceMs: number): Promise<SigningSecrets> {
  const { rows } = await db.query(
    `UPDATE organizations SET previous_signing_secret = signing_secret, signing_secret = $2,
            previous_signing_secret_expires_at = now() + ($3 * interval '1 millisecond')
     WHERE id = $1 RETURNING id`,
    [organizationId, generateSigningSecret(), graceMs],
  );
  if (!rows[0]) throw notFound("organization", organizationId);
  return getSigningSecrets(db, organizationId);
}

/** The secrets outgoing requests are signed with, current first. */
export function activeSecrets(secrets: SigningSecrets): string[] {
  return secrets.previous ? [secrets.current, secrets.previous] : [secrets.current];
}
