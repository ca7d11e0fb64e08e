/** The payloads each channel receives: Slack Block Kit, a Discord embed, Runlater's webhook JSON, email text. */
import { describe, expect, it } from "vitest";
import { type Alert, alertText, discordMessage, slackMessage, webhookMessage } from "../../server/services/alert-messages.js";

const down: Alert = {
  event: "MONITOR_DOWN",
  organizationId: "00000000-0000-4000-8000-000000000001",
  resource: { type: "MONITOR", id: "0190a0a0-0000-7000-8000-000000000002", name: "nightly <backup>" },
  state: "DOWN",
  reason: "no ping within the grace period",
  at: new Date("2026-11-28T02:45:00Z"),
};
const up: Alert = { ...down, event: "MONITOR_UP", state: "UP", reason: "ping received" };

describe("Slack", () => {
  it("has a text fallback and Block Kit blocks, escaping Slack's control characters", () => {
    const message = slackMessage(down) as {
      text: string;
      blocks: Array<{ type: string; text?: unknown; elements?: Array<{ text: string }> }>;
    };
    expect(message.text).toBe(':red_circle: Monitor "nightly &lt;backup&gt;" is DOWN');
    expect(message.blocks.map((block) => block.type)).toEqual(["header", "section", "context"]);
    expect(message.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: '🔴 Monitor "nightly <backup>" is DOWN', emoji: true },
    });
    expect(message.blocks[1]?.text).toEqual({
      type: "mrkdwn",
      text: "*Reason:* no ping within the grace period\n*When:* <!date^1795833900^{date_short_pretty} {time_secs}|2026-11-28T02:45:00.000Z>",
    });
    expect(message.blocks[2]?.elements?.[0]?.text).toBe("monitor `0190a0a0-0000-7000-8000-000000000002`");
    expect((slackMessage(up) as { text: string }).text).toMatch(/^:large_green_circle: Monitor .* is UP again$/);
  });
});

describe("Discord", () => {
  it("sends one embed, red when DOWN and green when UP", () => {
    const message = discordMessage(down) as { username: string; embeds: Array<Record<string, unknown>> };
    expect(message.username).toBe("Runlater");
    expect(message.embeds).toEqual([
      {
        title: 'Monitor "nightly <backup>" is DOWN',
        description: "no ping within the grace period",
        color: 0xd32f2f,
        timestamp: "2026-11-28T02:45:00.000Z",
        fields: [{ name: "monitor", value: "0190a0a0-0000-7000-8000-000000000002", inline: true }],
        footer: { text: "Runlater" },
      },
    ]);
    expect((discordMessage(up) as { embeds: Array<{ color: number }> }).embeds[0]?.color).toBe(0x2e7d32);
  });
});

describe("webhook and email", () => {
  it("webhook JSON names the event in dotted form with the resource", () => {
    expect(webhookMessage(down)).toEqual({
      event: "monitor.down",
      state: "DOWN",
      subject: 'Monitor "nightly <backup>" is DOWN',
      reason: "no ping within the grace period",
      at: "2026-11-28T02:45:00.000Z",
      organizationId: down.organizationId,
      resource: down.resource,
    });
    expect(webhookMessage({ ...down, event: "ENDPOINT_RECOVERED" }).event).toBe("endpoint.recovered");
  });

  it("email text says what, why, when and which", () => {
    expect(alertText(down)).toBe(
      'Monitor "nightly <backup>" is DOWN\n\nReason: no ping within the grace period\nWhen: 2026-11-28T02:45:00.000Z\nmonitor id: 0190a0a0-0000-7000-8000-000000000002',
    );
  });
});
