/**
 * Health history of tasks, monitors and endpoints: each time one goes DOWN or
 * comes back UP, a StatusChange row is written in the transaction that made
 * the change. Alerts are raised from these changes (never per failed attempt)
 * and status pages compute uptime from them.
 */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { PoolClient } from "../db/pool.js";
import { queueAlerts } from "./alerts.js";

export type ResourceType = "TASK" | "MONITOR" | "ENDPOINT";
export type HealthState = "UP" | "DOWN";

export interface StatusChangeInput {
  organizationId: string;
  resourceType: ResourceType;
  resourceId: string;
  state: HealthState;
  reason: string | null;
  /** The previous state; null when the resource had none (its first UP). Alerts need a real change. */
  previous: HealthState | null;
  at: Date;
}

/**
 * Writes the changes in one statement and, in the same transaction, the
 * alerts they call for (services/alerts.ts); organisations without any
 * alert channel cost no further query.
 */
export async function recordStatusChanges(boss: PgBoss, client: PoolClient, changes: StatusChangeInput[]): Promise<void> {
  if (changes.length === 0) return;
  await client.query(
    `INSERT INTO status_changes (id, organization_id, resource_type, resource_id, state, reason, changed_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::resource_type[], $4::uuid[], $5::health_state[], $6::text[], $7::timestamptz[])`,
    [
      changes.map(() => uuidv7()),
      changes.map((change) => change.organizationId),
      changes.map((change) => change.resourceType),
      changes.map((change) => change.resourceId),
      changes.map((change) => change.state),
      changes.map((change) => change.reason),
      changes.map((change) => change.at),
    ],
  );
  const { rows } = await client.query<{ organizationId: string }>(
    `SELECT DISTINCT organization_id AS "organizationId" FROM alert_channels WHERE organization_id = ANY($1::uuid[])`,
    [[...new Set(changes.map((change) => change.organizationId))]],
  );
  const alerting = new Set(rows.map((row) => row.organizationId));
  for (const change of changes) if (alerting.has(change.organizationId)) await queueAlerts(boss, client, change);
}
