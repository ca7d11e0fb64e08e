/**
 * Alerts end to end, over real HTTP and real SMTP on loopback: channels and
 * their tests, a missed heartbeat raising exactly one DOWN alert and then one
 * UP alert, a task alerting once when it FAILS (not per attempt) and when it
 * recovers, an endpoint's failing forwards, per-resource routes, validation
 * and isolation.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { createPersonas, eventually, graphql, type Persona, rest, startTestInstance } from "../helpers/runlater.js";
import { type Sink, type SinkHandler, startSink } from "../helpers/sink.js";
import { type SmtpSink, startSmtpSink } from "../helpers/smtp-sink.js";

let database: TestDatabase;
let instance: RunningInstance;
let smtp: SmtpSink;
let alice: Persona;
let bob: Persona;
const sinks: Sink[] = [];

beforeAll(async () => {
  smtp = await startSmtpSink();
  database = await createTestDatabase();
  instance = await startTestInstance(database.url, {
    env: { RUNLATER_SMTP_URL: smtp.url, RUNLATER_SMTP_FROM: "Alerts <alerts@runlater.test>" },
  });
  ({ alice, bob } = await createPersonas(database.url));
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
  await instance?.stop();
  await database?.drop();
  await smtp?.close();
});

async function sink(handler?: SinkHandler): Promise<Sink> {
  const started = await startSink(handler);
  sinks.push(started);
  return started;
}

interface Channel {
  id: string;
  kind: string;
  target: string;
  isDefault: boolean;
}
interface Notification {
  id: string;
  event: string;
  status: string;
  taskId: string | null;
  resourceId: string | null;
  channelId: string;
}

async function createChannel(persona: Persona, fields: Record<string, unknown>): Promise<Channel> {
  const created = await rest<Channel>(instance, persona.apiKey, "POST", "/alert-channels", fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

async function notificationsAbout(persona: Persona, resourceId: string): Promise<Notification[]> {
  const { body } = await rest<{ edges: Array<{ node: Notification }> }>(
    instance,
    persona.apiKey,
    "GET",
    `/notifications?resourceId=${resourceId}&first=100`,
  );
  return body.edges.map((edge) => edge.node).reverse();
}

const bodies = (target: Sink) => target.requests.map((request) => JSON.parse(request.body) as Record<string, unknown>);

describe("channels", () => {
  it("tests each kind of channel through its real transport, in its own format", async () => {
    const slack = await sink();
    const discord = await sink();
    const webhook = await sink();
    const channels = [
      await createChannel(bob, { name: "slack", kind: "SLACK", target: `${slack.url}/services/T/B/X`, isDefault: false }),
      await createChannel(bob, { name: "discord", kind: "DISCORD", target: `${discord.url}/api/webhooks/1/x`, isDefault: false }),
      await createChannel(bob, { name: "hook", kind: "WEBHOOK", target: `${webhook.url}/alerts`, isDefault: false }),
      await createChannel(bob, { name: "ops", kind: "EMAIL", target: "ops@bob.test", isDefault: false }),
    ];
    for (const channel of channels) {
      const tested = await rest<Notification>(instance, bob.apiKey, "POST", `/alert-channels/${channel.id}/test`);
      expect(tested.status).toBe(201);
      expect(tested.body).toMatchObject({
        event: "TEST",
        channelId: channel.id,
        status: channel.kind === "EMAIL" ? "PENDING" : "HANDED_TO_TASK",
      });
    }
    const [slackRequest] = await slack.waitForRequests(1);
    expect(slackRequest?.path).toBe("/services/T/B/X");
    expect(JSON.parse(slackRequest!.body)).toMatchObject({
      text: expect.stringContaining("Test alert from Runlater"),
      blocks: expect.any(Array),
    });
    const [discordRequest] = await discord.waitForRequests(1);
    expect(JSON.parse(discordRequest!.body)).toMatchObject({ username: "Runlater", embeds: [{ title: "Test alert from Runlater" }] });
    const [webhookRequest] = await webhook.waitForRequests(1);
    expect(JSON.parse(webhookRequest!.body)).toMatchObject({ event: "test", state: "UP", resource: null });
    // Signed like every request Runlater sends, with the organisation's secret.
    const { body: secrets } = await rest<{ current: string }>(instance, bob.apiKey, "GET", "/signing-secrets");
    const [t, v1] = (webhookRequest!.headers["runlater-signature"] as string).split(",").map((part) => part.split("=")[1]);
    expect(createHmac("sha256", secrets.current).update(`${t}.${webhookRequest!.body}`).digest("hex")).toBe(v1);

    const [email] = await smtp.waitForEmails(1);
    expect(email).toMatchObject({ from: "alerts@runlater.test", to: ["ops@bob.test"], subject: "[Runlater] Test alert from Runlater" });
    await eventually(async () => {
      const { body } = await rest<{ edges: Array<{ node: Notification }> }>(
        instance,
        bob.apiKey,
        "GET",
        `/notifications?channelId=${channels[3]!.id}`,
      );
      return body.edges[0]?.node.status === "SENT";
    });
  });

  it("validates channels and keeps them to their organisation", async () => {
    for (const [fields, field] of [
      [{ name: "x", kind: "EMAIL", target: "not an address" }, "target"],
      [{ name: "x", kind: "SLACK", target: "ftp://example.com" }, "target"],
      [{ name: "", kind: "WEBHOOK", target: "http://127.0.0.1:9/" }, "name"],
    ] as Array<[Record<string, unknown>, string]>) {
      const answer = await rest<{ error: { field: string } }>(instance, alice.apiKey, "POST", "/alert-channels", fields);
      expect(answer.status, JSON.stringify(fields)).toBe(422);
      expect(answer.body.error.field).toBe(field);
    }
    const channel = await createChannel(alice, { name: "alice's", kind: "WEBHOOK", target: "http://127.0.0.1:9/", isDefault: false });
    expect((await rest<Channel[]>(instance, bob.apiKey, "GET", "/alert-channels")).body.map((c) => c.id)).not.toContain(channel.id);
    for (const [method, path, body] of [
      ["PATCH", `/alert-channels/${channel.id}`, { name: "mine" }],
      ["DELETE", `/alert-channels/${channel.id}`],
      ["POST", `/alert-channels/${channel.id}/test`],
    ] as Array<[string, string, unknown?]>) {
      expect((await rest(instance, bob.apiKey, method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    const { body: aliceNotifications } = await rest<{ edges: unknown[] }>(instance, alice.apiKey, "GET", "/notifications");
    const { body: bobNotifications } = await rest<{ edges: Array<{ node: Notification }> }>(instance, bob.apiKey, "GET", "/notifications");
    expect(bobNotifications.edges.length).toBeGreaterThan(0);
    expect(aliceNotifications.edges).toHaveLength(0);
    // Routes: bob can neither read nor set a route on alice's resources, nor route his to her channel.
    const monitor = await rest<{ id: string }>(instance, alice.apiKey, "POST", "/monitors", { name: "m", intervalSeconds: 60 });
    expect((await rest(instance, bob.apiKey, "GET", `/alert-routes/MONITOR/${monitor.body.id}`)).status).toBe(404);
    expect((await rest(instance, bob.apiKey, "PUT", `/alert-routes/MONITOR/${monitor.body.id}`, { mode: "OFF" })).status).toBe(404);
    const bobMonitor = await rest<{ id: string }>(instance, bob.apiKey, "POST", "/monitors", { name: "m", intervalSeconds: 60 });
    const stolen = await rest<{ error: { field: string } }>(instance, bob.apiKey, "PUT", `/alert-routes/MONITOR/${bobMonitor.body.id}`, {
      mode: "CHANNELS",
      channelIds: [channel.id],
    });
    expect(stolen.status).toBe(422);
    expect(stolen.body.error.field).toBe("channelIds[0]");
  });
});

describe("alerts on changes of state (alice, with default channels)", () => {
  let hook: Sink;
  let email: Channel;

  beforeAll(async () => {
    hook = await sink();
    await createChannel(alice, { name: "hook", kind: "WEBHOOK", target: hook.url });
    email = await createChannel(alice, { name: "oncall", kind: "EMAIL", target: "oncall@alice.test" });
  });

  it("a missed heartbeat raises exactly one DOWN alert, then one UP alert when pings resume", async () => {
    const monitor = (
      await rest<{ id: string; token: string }>(instance, alice.apiKey, "POST", "/monitors", {
        name: "heartbeat",
        intervalSeconds: 1,
        graceSeconds: 1,
      })
    ).body;
    await fetch(`${instance.url}/ping/${monitor.token}`);
    await eventually(async () => bodies(hook).some((body) => body.event === "monitor.down"), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await fetch(`${instance.url}/ping/${monitor.token}`);
    await eventually(async () => bodies(hook).some((body) => body.event === "monitor.up"), 10_000);
    const about = bodies(hook).filter((body) => (body.resource as { id: string } | null)?.id === monitor.id);
    expect(about.map((body) => body.event)).toEqual(["monitor.down", "monitor.up"]);
    expect(about[0]).toMatchObject({ reason: "no ping within the grace period", resource: { type: "MONITOR", name: "heartbeat" } });
    const emails = await eventually(async () => {
      const found = smtp.emails.filter((message) => message.to.includes("oncall@alice.test") && message.subject.includes('"heartbeat"'));
      return found.length === 2 ? found : undefined;
    });
    expect(emails.map((message) => message.subject)).toEqual([
      '[Runlater] Monitor "heartbeat" is DOWN',
      '[Runlater] Monitor "heartbeat" is UP again',
    ]);
    const notifications = await notificationsAbout(alice, monitor.id);
    expect(notifications.map((n) => [n.event, n.channelId === email.id ? "email" : "hook"])).toEqual([
      ["MONITOR_DOWN", "hook"],
      ["MONITOR_DOWN", "email"],
      ["MONITOR_UP", "hook"],
      ["MONITOR_UP", "email"],
    ]);
  });

  it("a task alerts once when it FAILS after its final retry, and once when it recovers", async () => {
    let healthy = false;
    const target = await sink(() => (healthy ? { status: 200 } : { status: 500 }));
    const task = (await rest<{ id: string }>(instance, alice.apiKey, "POST", "/tasks", { url: target.url, retries: 2, name: "charge" }))
      .body;
    await eventually(async () => bodies(hook).some((body) => (body.resource as { id: string } | null)?.id === task.id), 20_000);
    expect(target.requests).toHaveLength(3);
    healthy = true;
    expect((await rest(instance, alice.apiKey, "POST", "/tasks/retry", { ids: [task.id] })).status).toBe(200);
    await eventually(
      async () => bodies(hook).filter((body) => (body.resource as { id: string } | null)?.id === task.id).length === 2,
      20_000,
    );
    const about = bodies(hook).filter((body) => (body.resource as { id: string } | null)?.id === task.id);
    expect(about.map((body) => body.event)).toEqual(["task.failed", "task.recovered"]);
    expect(about[0]?.reason).toMatch(/retries exhausted/);
    expect(about[0]?.resource).toMatchObject({ type: "TASK", name: "charge" });
  });

  it("an endpoint's failing forwards raise one ENDPOINT_FAILING alert, not one per event", async () => {
    let healthy = false;
    const destination = await sink(() => (healthy ? { status: 200 } : { status: 400 }));
    const endpoint = (
      await rest<{ id: string; slug: string }>(instance, alice.apiKey, "POST", "/endpoints", {
        name: "github",
        forwardUrls: [destination.url],
        retries: 0,
      })
    ).body;
    for (let index = 0; index < 3; index++) await fetch(`${instance.url}/in/${endpoint.slug}`, { method: "POST", body: String(index) });
    await destination.waitForRequests(3);
    await eventually(async () => (await notificationsAbout(alice, endpoint.id)).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    healthy = true;
    await fetch(`${instance.url}/in/${endpoint.slug}`, { method: "POST", body: "ok" });
    await eventually(async () => (await notificationsAbout(alice, endpoint.id)).some((n) => n.event === "ENDPOINT_RECOVERED"));
    const events = (await notificationsAbout(alice, endpoint.id)).map((n) => n.event);
    expect(events).toEqual(["ENDPOINT_FAILING", "ENDPOINT_FAILING", "ENDPOINT_RECOVERED", "ENDPOINT_RECOVERED"]);
    // Forwards speak for their endpoint, not as tasks of their own.
    const { rows } = await instance.runtime.pool.query(
      "SELECT 1 FROM notifications WHERE event = 'TASK_FAILED' AND resource_id IN (SELECT task_id FROM inbound_deliveries WHERE endpoint_id = $1)",
      [endpoint.id],
    );
    expect(rows).toHaveLength(0);
  });

  it("a resource's route overrides the defaults: OFF sends nothing, CHANNELS only those", async () => {
    const quiet = (
      await rest<{ id: string; token: string }>(instance, alice.apiKey, "POST", "/monitors", { name: "quiet", intervalSeconds: 60 })
    ).body;
    const routed = (
      await rest<{ id: string; token: string }>(instance, alice.apiKey, "POST", "/monitors", { name: "routed", intervalSeconds: 60 })
    ).body;
    const off = await rest<{ mode: string }>(instance, alice.apiKey, "PUT", `/alert-routes/MONITOR/${quiet.id}`, { mode: "OFF" });
    expect(off.body.mode).toBe("OFF");
    const only = await rest<{ mode: string; channelIds: string[] }>(instance, alice.apiKey, "PUT", `/alert-routes/MONITOR/${routed.id}`, {
      mode: "CHANNELS",
      channelIds: [email.id],
    });
    expect(only.body).toMatchObject({ mode: "CHANNELS", channelIds: [email.id] });
    for (const monitor of [quiet, routed]) {
      await fetch(`${instance.url}/ping/${monitor.token}`);
      await fetch(`${instance.url}/ping/${monitor.token}/fail`);
    }
    await eventually(async () => (await notificationsAbout(alice, routed.id)).length === 1);
    expect((await notificationsAbout(alice, routed.id))[0]?.channelId).toBe(email.id);
    expect(await notificationsAbout(alice, quiet.id)).toEqual([]);
    const back = await rest<{ mode: string }>(instance, alice.apiKey, "PUT", `/alert-routes/MONITOR/${quiet.id}`, { mode: "DEFAULT" });
    expect(back.body.mode).toBe("DEFAULT");
  });

  it("tasks and endpoints take routes too: a task routed OFF stays quiet, an endpoint routed to one channel uses only it", async () => {
    const failing = await sink(() => ({ status: 400 }));
    const quietTask = (await rest<{ id: string }>(instance, alice.apiKey, "POST", "/tasks", { url: failing.url, retries: 0, delay: "1s" }))
      .body;
    expect((await rest(instance, alice.apiKey, "PUT", `/alert-routes/TASK/${quietTask.id}`, { mode: "OFF" })).status).toBe(200);
    const endpoint = (
      await rest<{ id: string; slug: string }>(instance, alice.apiKey, "POST", "/endpoints", {
        name: "routed",
        forwardUrls: [failing.url],
        retries: 0,
      })
    ).body;
    const routed = await rest<{ mode: string }>(instance, alice.apiKey, "PUT", `/alert-routes/ENDPOINT/${endpoint.id}`, {
      mode: "CHANNELS",
      channelIds: [email.id],
    });
    expect(routed.body.mode).toBe("CHANNELS");
    expect((await rest<{ mode: string }>(instance, alice.apiKey, "GET", `/alert-routes/ENDPOINT/${endpoint.id}`)).body.mode).toBe(
      "CHANNELS",
    );
    await fetch(`${instance.url}/in/${endpoint.slug}`, { method: "POST", body: "x" });
    await eventually(async () => (await notificationsAbout(alice, endpoint.id)).length === 1);
    expect((await notificationsAbout(alice, endpoint.id))[0]).toMatchObject({ event: "ENDPOINT_FAILING", channelId: email.id });
    await failing.waitForRequests(2);
    await eventually(async () => {
      const { body } = await rest<{ status: string }>(instance, alice.apiKey, "GET", `/tasks/${quietTask.id}`);
      return body.status === "FAILED";
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await notificationsAbout(alice, quietTask.id)).toEqual([]);
    const { rows } = await instance.runtime.pool.query("SELECT state FROM status_changes WHERE resource_id = $1", [quietTask.id]);
    expect(rows).toEqual([{ state: "DOWN" }]);
  });

  it("GraphQL lists channels and notifications of the caller's organisation only", async () => {
    const answer = await graphql<{ alertChannels: Array<{ name: string }> }>(instance, alice.apiKey, "{ alertChannels { name } }");
    expect(answer.data?.alertChannels.map((channel) => channel.name)).toEqual(expect.arrayContaining(["hook", "oncall"]));
    expect(answer.data?.alertChannels.map((channel) => channel.name)).not.toContain("slack");
  });
});
