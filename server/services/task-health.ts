/**
 * Task and endpoint health, from the final outcome of each attempt: a task
 * whose run ends FAILED goes DOWN (alert "task failed"); its next successful
 * run brings it back UP ("task recovered"). A forward of an inbound event
 * speaks for its endpoint instead ("deliveries failing" / "recovered"), and
 * alert deliveries speak for nobody (an unreachable Slack must not alert
 * about itself). Nothing is written while the state stays the same.
 *
 * Called by services/attempts.ts in the transaction that settles a batch of
 * attempts, which holds the tasks' row locks; an endpoint's row is locked before its
 * state changes, so concurrent forwards change it once.
 */
import type { PgBoss } from "pg-boss";
import type { PoolClient } from "../db/pool.js";
import { type HealthState, recordStatusChanges } from "./status-changes.js";
import type { TaskRow } from "./tasks.js";

interface HealthContext {
  taskId: string;
  endpointId: string | null;
  isAlertDelivery: boolean;
  taskState: HealthState | null;
  endpointState: HealthState | null;
}

const LATEST_STATE = (type: string, id: string) =>
  `(SELECT state FROM status_changes WHERE resource_type = '${type}' AND resource_id = ${id} ORDER BY changed_at DESC, id DESC LIMIT 1)`;

/** The health context of every task in one statement (a settled batch reads them all at once). */
async function readHealthContexts(client: PoolClient, taskIds: string[]): Promise<Map<string, HealthContext>> {
  const { rows } = await client.query<HealthContext>({
    name: "runlater-health-contexts",
    text: `SELECT t.id AS "taskId", d.endpoint_id AS "endpointId",
            EXISTS (SELECT 1 FROM notifications WHERE task_id = t.id) AS "isAlertDelivery",
            ${LATEST_STATE("TASK", "t.id")} AS "taskState",
            ${LATEST_STATE("ENDPOINT", "d.endpoint_id")} AS "endpointState"
     FROM unnest($1::uuid[]) AS t(id) LEFT JOIN inbound_deliveries d ON d.task_id = t.id`,
    values: [[...new Set(taskIds)]],
  });
  return new Map(rows.map((row) => [row.taskId, row]));
}

/** A run's final outcome, as its task's health sees it. */
export interface FinishedRun {
  task: TaskRow;
  succeeded: boolean;
  reason: string | null;
}

/**
 * Records the changes of tasks' (or their endpoints') health after attempts
 * that end runs, in order: the common case (no change) costs one statement
 * for the whole batch; each change adds its own.
 */
export async function recordTasksHealth(client: PoolClient, boss: PgBoss, runs: FinishedRun[]): Promise<void> {
  const relevant = runs.filter((run) => run.task.type !== "CALLBACK");
  if (relevant.length === 0) return;
  const contexts = await readHealthContexts(
    client,
    relevant.map((run) => run.task.id),
  );
  // A task (cron, overlap ALLOW) or an endpoint may end several runs in one batch: later runs see earlier changes.
  const recorded = new Map<string, HealthState>();
  for (const settled of relevant) {
    const { task } = settled;
    const context = contexts.get(task.id);
    if (!context || context.isAlertDelivery) continue;
    const state: HealthState = settled.succeeded ? "UP" : "DOWN";
    const forEndpoint = context.endpointId !== null;
    const key = forEndpoint ? `ENDPOINT:${context.endpointId}` : `TASK:${task.id}`;
    let previous = recorded.has(key) ? (recorded.get(key) ?? null) : forEndpoint ? context.endpointState : context.taskState;
    if (!isChange(previous, state)) continue;
    if (forEndpoint) {
      // Another forward of the endpoint may be settling now: decide under the endpoint's lock.
      await client.query("SELECT 1 FROM inbound_endpoints WHERE id = $1 FOR UPDATE", [context.endpointId]);
      previous = (await readHealthContexts(client, [task.id])).get(task.id)?.endpointState ?? null;
      if (!isChange(previous, state)) {
        recorded.set(key, previous as HealthState);
        continue;
      }
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
    recorded.set(key, state);
  }
}

/** Success is the normal state: a first success records nothing; a first failure does. */
function isChange(previous: HealthState | null, next: HealthState): boolean {
  return next === "DOWN" ? previous !== "DOWN" : previous === "DOWN";
}
