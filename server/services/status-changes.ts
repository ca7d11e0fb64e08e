/**
 * Health history of tasks, monitors and endpoints: each time one goes DOWN or
 * comes back UP, a StatusChange row is written in the transaction that made
 * the change. Alerts are raised from these changes (never per failed attempt)
 * and status pages compute uptime from them.
 */
/** Writes the change and, in the same transaction, the alerts it calls for (services/alerts.ts). */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Queryable } from "../db/pool.js";
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

export async function recordStatusChange(boss: PgBoss, client: Queryable, change: StatusChangeInput): Promise<void> {
  await client.query(
    `INSERT INTO status_changes (id, organization_id, resource_type, resource_id, state, reason, changed_at)
     VALUES ($7, $1, $2, $3, $4, $5, $6)`,
    [change.organizationId, change.resourceType, change.resourceId, change.state, change.reason, change.at, uuidv7()],
  );
  await queueAlerts(boss, client, change);
}
