/**
 * Task and endpoint health, from the final outcome of each attempt: a task
 * whose run ends FAILED goes DOWN (alert "task failed"); its next successful
 * run brings it back UP ("task recovered"). A forward of an inbound event
 * speaks for its endpoint instead ("deliveries failing" / "recovered"), and
 * alert deliveries speak for nobody (an unreachable Slack must not alert
 * about itself). Nothing is written while the state stays the same.
 *
 * Called by services/attempts.ts in the transaction that settles the attempt,
 * which holds the task's row lock; an endpoint's row is locked before its
 * state changes, so concurrent forwards change it once.
 */
import type { PgBoss } from "pg-boss";
import type { PoolClient } from "../db/pool.js";
import { type HealthState, recordStatusChanges } from "./status-changes.js";
import type { TaskRow } from "./tasks.js";

interface HealthContext {
  endpointId: string | null;
  isAlertDelivery: boolean;
  taskState: HealthState | null;
  endpointState: HealthState | null;
}

const LATEST_STATE = (type: string, id: string) =>
  `(SELECT state FROM status_changes WHERE resource_type = '${type}' AND resource_id = ${id} ORDER BY changed_at DESC, id DESC LIMIT 1)`;

async function readHealthContext(client: PoolClient, taskId: string): Promise<HealthContext> {
  const { rows } = await client.query<HealthContext>(
    `SELECT d.endpoint_id AS "endpointId",
            EXISTS (SELECT 1 FROM notifications WHERE task_id = t.id) AS "isAlertDelivery",
            ${LATEST_STATE("TASK", "t.id")} AS "taskState",
            ${LATEST_STATE("ENDPOINT", "d.endpoint_id")} AS "endpointState"
     FROM (SELECT $1::uuid AS id) t LEFT JOIN inbound_deliveries d ON d.task_id = t.id`,
    [taskId],
  );
  return rows[0] as HealthContext;
}

/** Records a change of the task's (or its endpoint's) health after an attempt that ends a run. */
export async function recordTaskHealth(
  client: PoolClient,
  boss: PgBoss,
  settled: { task: TaskRow; succeeded: boolean; reason: string | null },
): Promise<void> {
  const { task } = settled;
  if (task.type === "CALLBACK") return;
  const context = await readHealthContext(client, task.id);
  if (context.isAlertDelivery) return;
  const state: HealthState = settled.succeeded ? "UP" : "DOWN";
  const forEndpoint = context.endpointId !== null;
  let previous = forEndpoint ? context.endpointState : context.taskState;
  if (!isChange(previous, state)) return;
  if (forEndpoint) {
    // Another forward of the endpoint may be settling now: decide under the endpoint's lock.
    await client.query("SELECT 1 FROM inbound_endpoints WHERE id = $1 FOR UPDATE", [context.endpointId]);
    previous = (await readHealthContext(client, task.id)).endpointState;
    if (!isChange(previous, state)) return;
  }
  await recordStatusChanges(boss, client, [
    {
      organizationId: task.organizationId,
      resourceType: forEndpoint ? "ENDPOINT" : "TASK",
      resourceId: forEndpoint ? (context.endpointId as string) : task.id,
      state,
      previous,
      reason: settled.succeeded ? "an attempt succeeded" : settled.reason,
      at: new Date(),
    },
  ]);
}

/** Success is the normal state: a first success records nothing; a first failure does. */
function isChange(previous: HealthState | null, next: HealthState): boolean {
  return next === "DOWN" ? previous !== "DOWN" : previous === "DOWN";
}
