/**
 * The `monitorUpdated` and `inboundEvents` subscriptions over real graphql-ws
 * connections: a ping brings a monitor UP live and the checker's DOWN follows;
 * pause and resume are streamed; webhooks posted to /in/{slug}, accepted or
 * rejected, reach subscribers with their body, headers and forwards; and bob
 * never hears of alice's monitors or webhooks, whatever id he passes.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useLiveSubscriptions } from "../helpers/live.js";
import { createPersonas, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
const subscribe = useLiveSubscriptions(() => runlater.instance.url as string);
let alice: Persona;
let bob: Persona;

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(runlater.database.url));
});

const live = <T>(persona: Persona, query: string, variables: Record<string, unknown> = {}) =>
  subscribe<T>(persona.apiKey, query, variables);

interface MonitorEvent {
  monitorUpdated: { id: string; name: string; status: string; lastPingAt: string | null; paused: boolean; pingUrl: string };
}
interface InboundEventEvent {
  inboundEvents: {
    id: string;
    endpointId: string;
    status: string;
    rejectionReason: string | null;
    method: string;
    query: string;
    headers: Record<string, string>;
    body: string;
    bodySize: number;
    deliveries: Array<{ destination: string; replay: boolean }>;
  };
}

const MONITOR_FIELDS = "id name status lastPingAt paused pingUrl";
const EVENT_FIELDS = "id endpointId status rejectionReason method query headers body bodySize deliveries { destination replay }";

async function createMonitor(persona: Persona, fields: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const created = await rest<{ id: string; token: string }>(runlater.instance, persona.apiKey, "POST", "/monitors", fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

async function createEndpoint(persona: Persona, fields: Record<string, unknown>): Promise<{ id: string; slug: string }> {
  const created = await rest<{ id: string; slug: string }>(runlater.instance, persona.apiKey, "POST", "/endpoints", fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const ping = (token: string, suffix = "") => fetch(`${runlater.instance.url}/ping/${token}${suffix}`);
const post = (slug: string, body: string, headers: Record<string, string> = {}, query = "") =>
  fetch(`${runlater.instance.url}/in/${slug}${query}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });

describe("monitorUpdated", () => {
  it("emits UP when a ping arrives, then the checker's DOWN when the next one does not", async () => {
    // Expected every 2 s with 1 s of grace: DOWN about 3 s after the ping.
    const monitor = await createMonitor(alice, { name: "nightly-backup", intervalSeconds: 2, graceSeconds: 1 });
    const updates = live<MonitorEvent>(alice, `subscription ($id: ID) { monitorUpdated(id: $id) { ${MONITOR_FIELDS} } }`, {
      id: monitor.id,
    });
    await updates.ready();

    const pinged = Date.now();
    expect((await ping(monitor.token)).status).toBe(200);
    const [up] = await updates.waitFor((events) => events.length >= 1);
    expect(up?.monitorUpdated).toMatchObject({ id: monitor.id, name: "nightly-backup", status: "UP", paused: false });
    // The ping URL a live event carries is the one the API answers: the address the subscriber connected to.
    expect(up?.monitorUpdated.pingUrl).toBe(`${runlater.instance.url}/ping/${monitor.token}`);
    expect(new Date(up?.monitorUpdated.lastPingAt as string).getTime()).toBeGreaterThanOrEqual(pinged - 1000);

    const events = await updates.waitFor((received) => received.some((event) => event.monitorUpdated.status === "DOWN"), 20_000);
    expect(events.every((event) => event.monitorUpdated.id === monitor.id)).toBe(true);
    // UP first; LATE can only appear if a checker pass ran in the grace window; DOWN last.
    const statuses = events.map((event) => event.monitorUpdated.status);
    expect(statuses[0]).toBe("UP");
    expect(statuses.at(-1)).toBe("DOWN");
    expect(statuses.every((status) => ["UP", "LATE", "DOWN"].includes(status))).toBe(true);
  }, 30_000);

  it("streams every monitor of the organisation when no id is given: creation, failure pings, pause and resume", async () => {
    const first = await createMonitor(alice, { name: "etl", cron: "0 3 * * *", timezone: "Europe/Paris" });
    const updates = live<MonitorEvent>(alice, `subscription { monitorUpdated { ${MONITOR_FIELDS} } }`);
    await updates.ready();
    const second = await createMonitor(alice, { name: "billing", intervalSeconds: 3600 });
    await updates.waitFor((events) => events.some((event) => event.monitorUpdated.id === second.id));

    expect((await ping(first.token, "/fail")).status).toBe(200);
    await updates.waitFor((events) => events.some((event) => event.monitorUpdated.id === first.id));
    expect((await rest(runlater.instance, alice.apiKey, "POST", `/monitors/${second.id}/pause`)).status).toBe(200);
    await updates.waitFor((events) => events.some((event) => event.monitorUpdated.id === second.id && event.monitorUpdated.paused));
    expect((await rest(runlater.instance, alice.apiKey, "POST", `/monitors/${second.id}/resume`)).status).toBe(200);
    // Created (NEW), paused, resumed (NEW again, until its next ping).
    const events = await updates.waitFor((received) => received.filter((event) => event.monitorUpdated.id === second.id).length >= 3);
    const of = (id: string) => events.filter((event) => event.monitorUpdated.id === id).map((event) => event.monitorUpdated.status);
    // The first monitor's creation (NEW) is announced after commit and may reach a subscription opened just after it.
    expect(of(first.id).filter((status) => status !== "NEW")).toEqual(["DOWN"]);
    expect(of(second.id)).toEqual(["NEW", "PAUSED", "NEW"]);
  });
});

describe("inboundEvents", () => {
  it("delivers each webhook posted to /in/{slug} once stored, with its body, headers and forwards", async () => {
    const endpoint = await createEndpoint(alice, { name: "stripe", forwardUrls: [`${runlater.sink.url}/stripe`] });
    const events = live<InboundEventEvent>(alice, `subscription ($id: ID) { inboundEvents(endpointId: $id) { ${EVENT_FIELDS} } }`, {
      id: endpoint.id,
    });
    await events.ready();

    const answer = await post(endpoint.slug, '{"type":"invoice.paid","amount":4200}', { "x-sender": "stripe" }, "?attempt=1");
    expect(answer.status).toBe(202);
    const { id } = (await answer.json()) as { id: string };
    const [received] = await events.waitFor((list) => list.length >= 1);
    expect(received?.inboundEvents).toMatchObject({
      id,
      endpointId: endpoint.id,
      status: "ACCEPTED",
      rejectionReason: null,
      method: "POST",
      query: "attempt=1",
      body: '{"type":"invoice.paid","amount":4200}',
      bodySize: 37,
      deliveries: [{ destination: `${runlater.sink.url}/stripe`, replay: false }],
    });
    expect(received?.inboundEvents.headers["x-sender"]).toBe("stripe");
  });

  it("delivers a large body (left out of the live load) when the subscriber asks for it, and only its size otherwise", async () => {
    const endpoint = await createEndpoint(alice, { name: "exports", forwardUrls: [] });
    const withBody = live<InboundEventEvent>(alice, "subscription ($id: ID) { inboundEvents(endpointId: $id) { id bodySize body } }", {
      id: endpoint.id,
    });
    const sizeOnly = live<InboundEventEvent>(alice, "subscription ($id: ID) { inboundEvents(endpointId: $id) { id bodySize } }", {
      id: endpoint.id,
    });
    await Promise.all([withBody.ready(), sizeOnly.ready()]);
    const large = JSON.stringify({ rows: "x".repeat(200 * 1024) });
    expect((await post(endpoint.slug, large)).status).toBe(202);
    const [received] = await withBody.waitFor((events) => events.length >= 1);
    expect(received?.inboundEvents.bodySize).toBe(Buffer.byteLength(large));
    expect(received?.inboundEvents.body).toBe(large);
    const [sized] = await sizeOnly.waitFor((events) => events.length >= 1);
    expect(sized?.inboundEvents).toEqual({ id: received?.inboundEvents.id, bodySize: Buffer.byteLength(large) });
  });

  it("delivers rejected webhooks too, and every endpoint's when no endpoint is named", async () => {
    const verified = await createEndpoint(alice, {
      name: "github",
      forwardUrls: [`${runlater.sink.url}/github`],
      verify: { kind: "GITHUB", secret: "s3cret" },
    });
    const plain = await createEndpoint(alice, { name: "store-only", forwardUrls: [] });
    const events = live<InboundEventEvent>(alice, `subscription { inboundEvents { ${EVENT_FIELDS} } }`);
    await events.ready();

    expect((await post(verified.slug, '{"action":"opened"}')).status).toBe(401);
    expect((await post(plain.slug, "[]")).status).toBe(202);
    const received = await events.waitFor((list) => list.length >= 2);
    const byEndpoint = new Map(received.map((event) => [event.inboundEvents.endpointId, event.inboundEvents]));
    expect(byEndpoint.get(verified.id)).toMatchObject({ status: "REJECTED", deliveries: [] });
    expect(byEndpoint.get(verified.id)?.rejectionReason).toMatch(/signature/i);
    expect(byEndpoint.get(plain.id)).toMatchObject({ status: "ACCEPTED", body: "[]", deliveries: [] });
  });
});

describe("isolation", () => {
  it("never tells bob about alice's monitors or webhooks, and refuses her ids as unknown", async () => {
    const aliceMonitor = await createMonitor(alice, { name: "alice-cron", intervalSeconds: 60 });
    const aliceEndpoint = await createEndpoint(alice, { name: "alice-hooks", forwardUrls: [] });
    const bobMonitor = await createMonitor(bob, { name: "bob-cron", intervalSeconds: 60 });

    const aliceMonitors = live<MonitorEvent>(alice, "subscription { monitorUpdated { id status } }");
    const aliceEvents = live<InboundEventEvent>(alice, "subscription { inboundEvents { id endpointId } }");
    const bobMonitors = live<MonitorEvent>(bob, "subscription { monitorUpdated { id status } }");
    const bobEvents = live<InboundEventEvent>(bob, "subscription { inboundEvents { id endpointId } }");
    const bobNamesMonitor = live(bob, "subscription ($id: ID) { monitorUpdated(id: $id) { id } }", { id: aliceMonitor.id });
    const bobNamesEndpoint = live(bob, "subscription ($id: ID) { inboundEvents(endpointId: $id) { id } }", { id: aliceEndpoint.id });
    await Promise.all([aliceMonitors, aliceEvents, bobMonitors, bobEvents].map((subscription) => subscription.ready()));

    expect((await ping(aliceMonitor.token)).status).toBe(200);
    expect((await post(aliceEndpoint.slug, '{"secret":"alice"}')).status).toBe(202);
    await aliceMonitors.waitFor((events) => events.some((event) => event.monitorUpdated.id === aliceMonitor.id));
    await aliceEvents.waitFor((events) => events.some((event) => event.inboundEvents.endpointId === aliceEndpoint.id));
    // bob's own ping still reaches him, after alice's: his stream works and carried nothing of hers.
    expect((await ping(bobMonitor.token)).status).toBe(200);
    const bobSaw = await bobMonitors.waitFor((events) => events.length > 0);
    expect(bobSaw.map((event) => event.monitorUpdated.id)).toEqual([bobMonitor.id]);
    expect(bobEvents.events).toEqual([]);

    await bobNamesMonitor.waitFor(() => bobNamesMonitor.errors.length > 0);
    expect(JSON.stringify(bobNamesMonitor.errors)).toContain(`monitor ${aliceMonitor.id} was not found`);
    await bobNamesEndpoint.waitFor(() => bobNamesEndpoint.errors.length > 0);
    expect(JSON.stringify(bobNamesEndpoint.errors)).toContain(`endpoint ${aliceEndpoint.id} was not found`);
    expect(bobNamesMonitor.events).toEqual([]);
    expect(bobNamesEndpoint.events).toEqual([]);
  });

  it("refuses a subscription without credentials", async () => {
    const anonymous = subscribe(null, "subscription { monitorUpdated { id } }");
    await expect(anonymous.connected).rejects.toThrow(/4401/);
  });
});
