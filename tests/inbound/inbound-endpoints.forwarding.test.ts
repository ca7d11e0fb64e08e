/**
 * Inbound webhook endpoints over real HTTP: a sender posts to /in/{slug}, the
 * event is stored before the 202, and three loopback destinations receive it
 * (one failing first, then retried); replay, in-order delivery, the 1 MiB
 * limit, retention, validation, and isolation between alice and bob.
 */

import http from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { purgeExpiredInboundEvents } from "../../server/services/inbound-events.js";
import { INBOUND_EVENT_CHANNEL } from "../../server/services/realtime-notices.js";
import { verifySignature } from "../../server/services/signature.js";
import { createPersonas, eventually, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";
import { type Sink, type SinkHandler, startSink } from "../helpers/sink.js";

const context = useTestInstance();
let instance: RunningInstance;
let alice: Persona;
let bob: Persona;
const sinks: Sink[] = [];

beforeAll(async () => {
  instance = context.instance;
  ({ alice, bob } = await createPersonas(context.database.url));
});

afterAll(() => Promise.all(sinks.map((sink) => sink.close())));

async function sink(handler?: SinkHandler): Promise<Sink> {
  const started = await startSink(handler);
  sinks.push(started);
  return started;
}

interface Endpoint {
  id: string;
  slug: string;
  url: string;
  forwardUrls: string[];
  ordered: boolean;
  verification: { kind: string; header: string | null } | null;
}
interface Delivery {
  taskId: string;
  destination: string;
  replay: boolean;
}
interface InboundEvent {
  id: string;
  status: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  bodySize: number;
  sourceIp: string;
  rejectionReason: string | null;
  deliveries: Delivery[];
}

async function createEndpoint(persona: Persona, fields: Record<string, unknown>): Promise<Endpoint> {
  const created = await rest<Endpoint>(instance, persona.apiKey, "POST", "/endpoints", fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

function send(slug: string, body: string, headers: Record<string, string> = {}, suffix = "") {
  return fetch(`${instance.url}/in/${slug}${suffix}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

async function eventsOf(persona: Persona, endpointId: string): Promise<InboundEvent[]> {
  const { body } = await rest<{ edges: Array<{ node: InboundEvent }> }>(instance, persona.apiKey, "GET", `/endpoints/${endpointId}/events`);
  return body.edges.map((edge) => edge.node);
}

describe("receiving and forwarding", () => {
  it("stores the event before answering 202 and fans it out to three destinations, retrying the failing one", async () => {
    const first = await sink();
    const second = await sink();
    const flaky = await sink((_request, index) => (index === 0 ? { status: 503 } : { status: 200 }));
    const endpoint = await createEndpoint(alice, {
      name: "payments",
      forwardUrls: [first.url + "/a", second.url + "/b", flaky.url + "/c"],
      forwardHeaders: { "X-Forwarded-By": "runlater" },
    });
    expect(endpoint.slug).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(endpoint.url).toMatch(new RegExp(`/in/${endpoint.slug}$`));

    const answer = await send(endpoint.slug, '{"order":42}', { "x-custom": "yes" }, "/extra/path?x=1&y=2");
    expect(answer.status).toBe(202);
    const accepted = (await answer.json()) as { id: string; deliveries: number };
    expect(accepted.deliveries).toBe(3);

    // Stored before the answer: readable at once.
    const { status, body: event } = await rest<InboundEvent>(instance, alice.apiKey, "GET", `/events/${accepted.id}`);
    expect(status).toBe(200);
    expect(event).toMatchObject({ status: "ACCEPTED", method: "POST", path: "/extra/path", query: "x=1&y=2", body: '{"order":42}' });
    expect(event.headers["x-custom"]).toBe("yes");
    expect(event.sourceIp).toMatch(/127\.0\.0\.1/);
    expect(event.deliveries.map((delivery) => delivery.destination).sort()).toEqual(endpoint.forwardUrls.slice().sort());

    const [a] = await first.waitForRequests(1);
    const [b] = await second.waitForRequests(1);
    const flakyRequests = await flaky.waitForRequests(2, 15_000);
    for (const request of [a, b, ...flakyRequests]) {
      expect(request?.body).toBe('{"order":42}');
      expect(request?.headers["x-custom"]).toBe("yes");
      expect(request?.headers["x-forwarded-by"]).toBe("runlater");
      expect(request?.headers["runlater-event-id"]).toBe(accepted.id);
      expect(request?.headers["runlater-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    }
    expect(a?.path).toBe("/a");
    expect(flakyRequests.map((request) => request.headers["runlater-attempt"])).toEqual(["1", "2"]);

    // Each forward is an ordinary task, visible with its executions.
    const flakyDelivery = event.deliveries.find((delivery) => delivery.destination.endsWith("/c")) as Delivery;
    await eventually(async () => {
      const { body } = await rest<{ status: string; attempts: number }>(instance, alice.apiKey, "GET", `/tasks/${flakyDelivery.taskId}`);
      return body.status === "SUCCEEDED" && body.attempts === 2;
    }, 15_000);
  });

  it("keeps the sender's method unless the endpoint overrides it, and accepts any method", async () => {
    const destination = await sink();
    const endpoint = await createEndpoint(alice, { name: "puts", forwardUrls: [destination.url], forwardMethod: "PATCH" });
    const answer = await fetch(`${instance.url}/in/${endpoint.slug}`, { method: "PUT", body: "plain text" });
    expect(answer.status).toBe(202);
    const [request] = await destination.waitForRequests(1);
    expect(request).toMatchObject({ method: "PATCH", body: "plain text" });
    const head = await fetch(`${instance.url}/in/${endpoint.slug}`, { method: "OPTIONS" });
    expect(head.status).toBe(202);
  });

  it("forwards a body that is not UTF-8 text byte for byte, signed over its bytes", async () => {
    const destination = await sink();
    const endpoint = await createEndpoint(alice, { name: "binary", forwardUrls: [destination.url] });
    const gzipped = gzipSync(Buffer.from('{"order":42}'));
    const withNul = Buffer.from("text\u0000with a NUL byte", "utf8");
    for (const body of [gzipped, withNul]) {
      const answer = await fetch(`${instance.url}/in/${endpoint.slug}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body,
      });
      expect(answer.status).toBe(202);
    }
    const requests = await destination.waitForRequests(2);
    const { current } = (await rest<{ current: string }>(instance, alice.apiKey, "GET", "/signing-secrets")).body;
    for (const [index, sent] of [gzipped, withNul].entries()) {
      const request = requests.find((candidate) => candidate.bytes.equals(sent));
      expect(request, `body ${index} arrived as sent`).toBeDefined();
      expect(request!.headers["content-encoding"]).toBe("gzip");
      expect(verifySignature(String(request!.headers["runlater-signature"]), current, request!.bytes)).toBe(true);
    }
    expect(gunzipSync(requests.find((request) => request.bytes[0] === 0x1f)!.bytes).toString()).toBe('{"order":42}');
    // The forwards are tasks holding the bytes in base64.
    const [event] = await eventsOf(alice, endpoint.id);
    const task = await rest(instance, alice.apiKey, "GET", `/tasks/${event!.deliveries[0]!.taskId}`);
    expect(task.body).toMatchObject({ bodyEncoding: "BASE64" });
  });

  it("answers 413 beyond 1 MiB and stores nothing; 404 for an unknown slug", async () => {
    const endpoint = await createEndpoint(alice, { name: "large", forwardUrls: [] });
    const exactly = await send(endpoint.slug, "x".repeat(1024 * 1024));
    expect(exactly.status).toBe(202);
    const tooLarge = await send(endpoint.slug, "x".repeat(1024 * 1024 + 1));
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    const events = await eventsOf(alice, endpoint.id);
    expect(events.map((event) => event.bodySize)).toEqual([1024 * 1024]);
    expect((await send("no-such-endpoint-slug", "{}")).status).toBe(404);
  });

  it("delivers in order per destination when ordered", async () => {
    const destination = await sink((_request, index) => ({ status: 200, delayMs: index === 0 ? 300 : 0 }));
    const endpoint = await createEndpoint(alice, { name: "ordered", forwardUrls: [destination.url], ordered: true });
    for (let index = 0; index < 5; index++) expect((await send(endpoint.slug, String(index))).status).toBe(202);
    const received = await destination.waitForRequests(5, 15_000);
    expect(received.map((request) => request.body)).toEqual(["0", "1", "2", "3", "4"]);
    // One at a time: each starts after the previous answered.
    for (let index = 1; index < received.length; index++) {
      expect(received[index]!.receivedAt).toBeGreaterThanOrEqual(received[index - 1]!.receivedAt);
    }
    expect(received[1]!.receivedAt - received[0]!.receivedAt).toBeGreaterThanOrEqual(250);
  });
});

describe("live notices", () => {
  it("announces each stored event with a NOTIFY carrying ids only, after the commit", async () => {
    const endpoint = await createEndpoint(alice, { name: "live", forwardUrls: [] });
    const listener = await instance.runtime.pool.connect();
    try {
      const heard: string[] = [];
      listener.on("notification", (message) => heard.push(message.payload ?? ""));
      await listener.query(`LISTEN ${INBOUND_EVENT_CHANNEL}`);
      const { id } = (await (await send(endpoint.slug, "{}")).json()) as { id: string };
      await eventually(async () => heard.length > 0);
      expect(heard.map((payload) => JSON.parse(payload))).toContainEqual({
        organizationId: alice.organizationId,
        endpointId: endpoint.id,
        eventId: id,
      });
    } finally {
      await listener.query(`UNLISTEN ${INBOUND_EVENT_CHANNEL}`);
      listener.release();
    }
  });
});

describe("replay", () => {
  it("replays one event to all destinations or to one, and many events at once", async () => {
    const first = await sink();
    const second = await sink();
    const endpoint = await createEndpoint(alice, { name: "replays", forwardUrls: [first.url, second.url] });
    const answer = (await (await send(endpoint.slug, '{"n":1}')).json()) as { id: string };
    await first.waitForRequests(1);
    await second.waitForRequests(1);

    const toAll = await rest<Delivery[]>(instance, alice.apiKey, "POST", `/events/${answer.id}/replay`);
    expect(toAll.status).toBe(201);
    expect(toAll.body).toHaveLength(2);
    expect(toAll.body.every((delivery) => delivery.replay)).toBe(true);
    await first.waitForRequests(2);
    await second.waitForRequests(2);

    const toOne = await rest<Delivery[]>(instance, alice.apiKey, "POST", `/events/${answer.id}/replay`, { destination: second.url });
    expect(toOne.body.map((delivery) => delivery.destination)).toEqual([second.url]);
    await second.waitForRequests(3);
    expect(first.requests).toHaveLength(2);

    const other = (await (await send(endpoint.slug, '{"n":2}')).json()) as { id: string };
    const many = await rest<Delivery[]>(instance, alice.apiKey, "POST", "/events/replay", {
      ids: [answer.id, other.id],
      destination: first.url,
    });
    expect(many.status).toBe(201);
    expect(many.body).toHaveLength(2);
    await first.waitForRequests(5);
    expect(
      first.requests
        .slice(3)
        .map((request) => request.body)
        .sort(),
    ).toEqual(['{"n":1}', '{"n":2}']);

    const badDestination = await rest<{ error: { field: string } }>(instance, alice.apiKey, "POST", `/events/${answer.id}/replay`, {
      destination: "http://127.0.0.1:1/elsewhere",
    });
    expect(badDestination.status).toBe(422);
    expect(badDestination.body.error.field).toBe("destination");
  });
});

describe("validation", () => {
  it("names the field at fault", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ forwardUrls: [] }, "name"],
      [{ name: "x" }, "forwardUrls"],
      [{ name: "x", forwardUrls: Array.from({ length: 11 }, (_, index) => `http://127.0.0.1:9/${index}`) }, "forwardUrls"],
      [{ name: "x", forwardUrls: ["http://127.0.0.1:9/", "ftp://example.com"] }, "forwardUrls[1]"],
      [{ name: "x", forwardUrls: [], verify: { kind: "HMAC", secret: "s" } }, "verify.header"],
      [{ name: "x", forwardUrls: [], verify: { kind: "GITHUB", secret: "" } }, "verify.secret"],
      [{ name: "x", forwardUrls: [], retries: 99 }, "retries"],
      [{ name: "x", forwardUrls: [], forwardHeaders: { Host: "evil" } }, "forwardHeaders.Host"],
    ];
    for (const [fields, field] of cases) {
      const answer = await rest<{ error: { field: string } }>(instance, alice.apiKey, "POST", "/endpoints", fields);
      expect([400, 422], JSON.stringify(fields)).toContain(answer.status);
      expect(answer.body.error.field, JSON.stringify(fields)).toBe(field);
    }
  });
});

describe("retention", () => {
  it("deletes events older than the organisation's retention", async () => {
    const endpoint = await createEndpoint(alice, { name: "retained", forwardUrls: [] });
    await send(endpoint.slug, "old");
    const set = await rest<number>(instance, alice.apiKey, "PUT", "/organization/inbound-retention", { days: 2 });
    expect(set.status).toBe(200);
    expect((await purgeExpiredInboundEvents(instance.runtime.pool, new Date(Date.now() + 86_400_000))) >= 0).toBe(true);
    expect(await eventsOf(alice, endpoint.id)).toHaveLength(1);
    await purgeExpiredInboundEvents(instance.runtime.pool, new Date(Date.now() + 3 * 86_400_000));
    expect(await eventsOf(alice, endpoint.id)).toHaveLength(0);
    const invalid = await rest<{ error: { field: string } }>(instance, alice.apiKey, "PUT", "/organization/inbound-retention", { days: 0 });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.field).toBe("days");
  });
});

describe("hop-by-hop headers", () => {
  it("does not forward the headers the sender's Connection header names", async () => {
    const destination = await sink();
    const endpoint = await createEndpoint(alice, { name: "hops", forwardUrls: [`${destination.url}/hook`] });
    // node:http, not fetch: fetch sets Connection itself.
    await new Promise<void>((resolve, reject) => {
      const sent = http.request(`${instance.url}/in/${endpoint.slug}`, {
        method: "POST",
        headers: { connection: "keep-alive, X-Hop", "x-hop": "1", "x-kept": "2", "content-type": "text/plain" },
      });
      sent.on("response", (response) => response.resume().on("end", () => resolve()));
      sent.on("error", reject);
      sent.end("hello");
    });
    const [forwarded] = await destination.waitForRequests(1);
    expect(forwarded?.headers["x-kept"]).toBe("2");
    expect(forwarded?.headers["x-hop"]).toBeUndefined();
  });
});

describe("retention of events still being forwarded", () => {
  it("keeps an event past its retention until its forwards have finished", async () => {
    const slow = await sink(() => ({ status: 200, delayMs: 2_000 }));
    const endpoint = await createEndpoint(bob, { name: "slow destination", forwardUrls: [`${slow.url}/hook`] });
    await rest(instance, bob.apiKey, "PUT", "/organization/inbound-retention", { days: 1 });
    await send(endpoint.slug, "in flight");
    await slow.waitForRequests(1);
    const inThreeDays = () => new Date(Date.now() + 3 * 86_400_000);
    await purgeExpiredInboundEvents(instance.runtime.pool, inThreeDays());
    expect(await eventsOf(bob, endpoint.id)).toHaveLength(1);
    // Once its forward has succeeded, it goes.
    await eventually(
      async () => {
        await purgeExpiredInboundEvents(instance.runtime.pool, inThreeDays());
        return (await eventsOf(bob, endpoint.id)).length === 0;
      },
      10_000,
      200,
    );
  });
});

describe("isolation", () => {
  it("bob sees none of alice's endpoints or events and cannot replay or change them", async () => {
    const endpoint = await createEndpoint(alice, { name: "alice only", forwardUrls: [] });
    const { id: eventId } = (await (await send(endpoint.slug, "secret")).json()) as { id: string };
    const bobList = await rest<Endpoint[]>(instance, bob.apiKey, "GET", "/endpoints");
    expect(bobList.body.map((item) => item.id)).not.toContain(endpoint.id);
    const aliceList = await rest<Endpoint[]>(instance, alice.apiKey, "GET", "/endpoints");
    expect(aliceList.body.map((item) => item.id)).toContain(endpoint.id);
    for (const [method, path, body] of [
      ["GET", `/endpoints/${endpoint.id}`],
      ["PATCH", `/endpoints/${endpoint.id}`, { name: "mine" }],
      ["DELETE", `/endpoints/${endpoint.id}`],
      ["GET", `/endpoints/${endpoint.id}/events`],
      ["GET", `/events/${eventId}`],
      ["POST", `/events/${eventId}/replay`],
      ["POST", "/events/replay", { ids: [eventId] }],
    ] as Array<[string, string, unknown?]>) {
      const answer = await rest(instance, bob.apiKey, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    const viaGraphQL = await graphql<{ inboundEvent: unknown }>(instance, bob.apiKey, `query($id: ID!) { inboundEvent(id: $id) { id } }`, {
      id: eventId,
    });
    expect(viaGraphQL.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await rest(instance, null, "GET", "/endpoints")).status).toBe(401);
    expect((await rest(instance, alice.apiKey, "GET", `/endpoints/${endpoint.id}`)).status).toBe(200);
  });
});
