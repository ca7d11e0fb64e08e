/**
 * What an alert says, and how each channel wants it: pure functions from an
 * alert to an email subject and text, a Slack message (Block Kit), a Discord
 * message (an embed) or Runlater's own signed webhook JSON.
 */
import type { HealthState, ResourceType } from "./status-changes.js";

export const ALERT_EVENTS = [
  "TASK_FAILED",
  "TASK_RECOVERED",
  "MONITOR_DOWN",
  "MONITOR_UP",
  "ENDPOINT_FAILING",
  "ENDPOINT_RECOVERED",
  "TEST",
] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export interface Alert {
  event: AlertEvent;
  organizationId: string;
  resource: { type: ResourceType; id: string; name: string } | null;
  /** DOWN for a failure, UP for a recovery (and for a test). */
  state: HealthState;
  reason: string | null;
  at: Date;
}

const EVENT_FOR: Record<ResourceType, Record<HealthState, AlertEvent>> = {
  TASK: { DOWN: "TASK_FAILED", UP: "TASK_RECOVERED" },
  MONITOR: { DOWN: "MONITOR_DOWN", UP: "MONITOR_UP" },
  ENDPOINT: { DOWN: "ENDPOINT_FAILING", UP: "ENDPOINT_RECOVERED" },
};

export function alertEventFor(resourceType: ResourceType, state: HealthState): AlertEvent {
  return EVENT_FOR[resourceType][state];
}

/** `monitor.down`, `task.failed`, … as the webhook's `event`. */
export function webhookEventName(event: AlertEvent): string {
  return event.toLowerCase().replace("_", ".");
}

export function alertSubject(alert: Alert): string {
  const name = alert.resource ? `"${alert.resource.name}"` : "";
  switch (alert.event) {
    case "TASK_FAILED":
      return `Task ${name} failed`;
    case "TASK_RECOVERED":
      return `Task ${name} recovered`;
    case "MONITOR_DOWN":
      return `Monitor ${name} is DOWN`;
    case "MONITOR_UP":
      return `Monitor ${name} is UP again`;
    case "ENDPOINT_FAILING":
      return `Endpoint ${name}: deliveries are failing`;
    case "ENDPOINT_RECOVERED":
      return `Endpoint ${name}: deliveries recovered`;
    case "TEST":
      return "Test alert from Runlater";
  }
}

export function alertText(alert: Alert): string {
  const lines = [alertSubject(alert), ""];
  if (alert.reason) lines.push(`Reason: ${alert.reason}`);
  lines.push(`When: ${alert.at.toISOString()}`);
  if (alert.resource) lines.push(`${alert.resource.type.toLowerCase()} id: ${alert.resource.id}`);
  return lines.join("\n");
}

const escapeSlack = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A Slack incoming-webhook message: a plain `text` fallback (notifications) and Block Kit blocks. */
export function slackMessage(alert: Alert): Record<string, unknown> {
  const subject = alertSubject(alert);
  const icon = alert.state === "DOWN" ? ":red_circle:" : ":large_green_circle:";
  const epoch = Math.floor(alert.at.getTime() / 1000);
  const details = [
    alert.reason ? `*Reason:* ${escapeSlack(alert.reason)}` : null,
    `*When:* <!date^${epoch}^{date_short_pretty} {time_secs}|${alert.at.toISOString()}>`,
  ].filter(Boolean);
  return {
    text: `${icon} ${escapeSlack(subject)}`,
    blocks: [
      {
        type: "header",
        text: { type: "plain_text", text: `${alert.state === "DOWN" ? "🔴" : "🟢"} ${subject}`.slice(0, 150), emoji: true },
      },
      { type: "section", text: { type: "mrkdwn", text: details.join("\n") } },
      ...(alert.resource
        ? [{ type: "context", elements: [{ type: "mrkdwn", text: `${alert.resource.type.toLowerCase()} \`${alert.resource.id}\`` }] }]
        : []),
    ],
  };
}

const DISCORD_RED = 0xd32f2f;
const DISCORD_GREEN = 0x2e7d32;

/** A Discord webhook message: one embed, red for failures, green for recoveries. */
export function discordMessage(alert: Alert): Record<string, unknown> {
  return {
    username: "Runlater",
    embeds: [
      {
        title: alertSubject(alert).slice(0, 256),
        description: (alert.reason ?? "").slice(0, 4096),
        color: alert.state === "DOWN" ? DISCORD_RED : DISCORD_GREEN,
        timestamp: alert.at.toISOString(),
        fields: alert.resource ? [{ name: alert.resource.type.toLowerCase(), value: alert.resource.id, inline: true }] : [],
        footer: { text: "Runlater" },
      },
    ],
  };
}

/** Runlater's own alert webhook body (signed with Runlater-Signature like every request). */
export function webhookMessage(alert: Alert): Record<string, unknown> {
  return {
    event: webhookEventName(alert.event),
    state: alert.state,
    subject: alertSubject(alert),
    reason: alert.reason,
    at: alert.at.toISOString(),
    organizationId: alert.organizationId,
    resource: alert.resource,
  };
}
