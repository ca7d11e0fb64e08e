/**
 * Alerts: when a task, monitor or endpoint changes state (StatusChange), one
 * notification per channel its route selects, written in the same
 * transaction as the change, so an alert is never lost nor sent for a change
 * that was rolled back.
 *
 * - Slack, Discord and webhook alerts are ordinary tasks (POST, 5 retries),
 *   created right here: signed, retried and recorded like any task. The
 *   notification row links to its task.
 * - Email alerts wait in the notification table (status PENDING) for the
 *   mailer (services/email-alerts.ts), which keeps to the organisation's
 *   hourly allowance and sends what exceeds it as one digest.
 *
 * Routing: a resource with an AlertRoute uses it (OFF, or its CHANNELS);
 * otherwise the organisation's default channels (isDefault) get the alert.
 * A first UP (a monitor's first ping) is not news: only real changes alert.
 */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import type { AlertChannelRow } from "./alert-channels.js";
import { CHANNEL_COLUMNS, getAlertChannel } from "./alert-channels.js";
import { type Alert, alertEventFor, alertSubject, alertText, discordMessage, slackMessage, webhookMessage } from "./alert-messages.js";
import type { StatusChangeInput } from "./status-changes.js";
import { insertTasks } from "./tasks.js";

export const ALERT_DELIVERY_RETRIES = 5;
export const ALERT_DELIVERY_TIMEOUT_MS = 10_000;

/** The channels a resource's alerts go to: its route, or the organisation's defaults. */
async function channelsFor(db: Queryable, change: Pick<StatusChangeInput, "organizationId" | "resourceType" | "resourceId">) {
  const { rows } = await db.query<AlertChannelRow>(
    `WITH route AS (SELECT mode, channel_ids FROM alert_routes WHERE resource_type = $2 AND resource_id = $3)
     SELECT ${CHANNEL_COLUMNS} FROM alert_channels c
     WHERE c.organization_id = $1 AND CASE (SELECT mode FROM route)
       WHEN 'OFF' THEN false
       WHEN 'CHANNELS' THEN EXISTS (SELECT 1 FROM route WHERE c.id = ANY(route.channel_ids))
       ELSE c.is_default END
     ORDER BY c.id`,
    [change.organizationId, change.resourceType, change.resourceId],
  );
  return rows;
}

async function resourceName(db: Queryable, change: Pick<StatusChangeInput, "resourceType" | "resourceId">): Promise<string> {
  const sql = {
    TASK: "SELECT coalesce(name, url) AS name FROM tasks WHERE id = $1",
    MONITOR: "SELECT name FROM monitors WHERE id = $1",
    ENDPOINT: "SELECT name FROM inbound_endpoints WHERE id = $1",
  }[change.resourceType];
  const { rows } = await db.query<{ name: string }>(sql, [change.resourceId]);
  return rows[0]?.name ?? change.resourceId;
}

/** Writes the notifications (and delivery tasks) for a status change, in the caller's transaction. */
export async function queueAlerts(_boss: PgBoss, client: PoolClient, change: StatusChangeInput): Promise<number> {
  if (change.previous === null && change.state === "UP") return 0;
  const channels = await channelsFor(client, change);
  if (channels.length === 0) return 0;
  const alert: Alert = {
    event: alertEventFor(change.resourceType, change.state),
    organizationId: change.organizationId,
    resource: { type: change.resourceType, id: change.resourceId, name: await resourceName(client, change) },
    state: change.state,
    reason: change.reason,
    at: change.at,
  };
  await notifyChannels(client, alert, channels);
  return channels.length;
}

function channelBody(channel: AlertChannelRow, alert: Alert): Record<string, unknown> {
  if (channel.kind === "SLACK") return slackMessage(alert);
  if (channel.kind === "DISCORD") return discordMessage(alert);
  return webhookMessage(alert);
}

/** One notification per channel; HTTP channels get their delivery task now, emails wait for the mailer. */
async function notifyChannels(client: PoolClient, alert: Alert, channels: AlertChannelRow[]): Promise<string[]> {
  const httpChannels = channels.filter((channel) => channel.kind !== "EMAIL");
  const tasks = await insertTasks(
    client,
    alert.organizationId,
    httpChannels.map((channel) => ({
      url: channel.target,
      method: "POST" as const,
      headers: {},
      body: JSON.stringify(channelBody(channel, alert)),
      bodyEncoding: "JSON" as const,
      runAt: alert.at,
      retries: ALERT_DELIVERY_RETRIES,
      timeoutMs: ALERT_DELIVERY_TIMEOUT_MS,
      name: `alert: ${alert.event}`,
      queue: null,
    })),
  );
  const taskOf = new Map(httpChannels.map((channel, index) => [channel.id, tasks[index]?.id ?? null]));
  const ids = channels.map(() => uuidv7());
  await client.query(
    `INSERT INTO notifications (id, organization_id, channel_id, event, resource_type, resource_id, subject, text, status, task_id, created_at)
     SELECT id, $1, channel_id, $2, $3, $4, $5, $6, status::notification_status, task_id, $7
     FROM unnest($8::uuid[], $9::uuid[], $10::text[], $11::uuid[]) AS input(id, channel_id, status, task_id)`,
    [
      alert.organizationId,
      alert.event,
      alert.resource?.type ?? null,
      alert.resource?.id ?? null,
      alertSubject(alert),
      alertText(alert),
      alert.at,
      ids,
      channels.map((channel) => channel.id),
      channels.map((channel) => (channel.kind === "EMAIL" ? "PENDING" : "HANDED_TO_TASK")),
      channels.map((channel) => taskOf.get(channel.id) ?? null),
    ],
  );
  return ids;
}

/** Sends a test alert to one channel, through the same path as real alerts. Returns the notification's id. */
export async function testAlertChannel(deps: { pool: Pool; boss: PgBoss }, organizationId: string, channelId: string): Promise<string> {
  return withTransaction(deps.pool, async (client) => {
    const channel = await getAlertChannel(client, organizationId, channelId);
    const alert: Alert = {
      event: "TEST",
      organizationId,
      resource: null,
      state: "UP",
      reason: `a test of the alert channel "${channel.name}"`,
      at: new Date(),
    };
    const [id] = await notifyChannels(client, alert, [channel]);
    return id as string;
  });
}
