// Slow subscribers are dropped rather than buffered without bound; a lost
// LISTEN connection is restored and clients are told to resynchronise.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LiveEventHub } from "../../server/realtime/live-event-hub.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

const BUFFER = 10;
const runlater = useTestInstance({ env: { RUNLATER_SUBSCRIPTION_BUFFER: String(BUFFER) } });
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

/** A graphql-ws subscription as alice, once the server has set it up. */
async function liveAsAlice<T>(query: string): Promise<LiveSubscription<T>> {
  const subscription = subscribe<T>(runlater.instance.url as string, ALICE_KEY, query);
  open.push(subscription as LiveSubscription<unknown>);
  await subscription.ready();
  return subscription;
}

function hub(): LiveEventHub {
  return runlater.instance.live as LiveEventHub;
}

async function aliceOrganization(): Promise<string> {
  const answer = await rest(runlater.instance, ALICE_KEY, "GET", "/organization");
  return answer.body.id as string;
}

async function pushDelayed(count: number): Promise<void> {
  const tasks = Array.from({ length: count }, (_, index) => ({ url: `${runlater.sink.url}/${index}`, delay: "1h" }));
  expect((await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks })).status).toBe(201);
}

describe("a subscriber that does not keep up", () => {
  it("is dropped once it falls a full buffer behind, and costs nothing afterwards", async () => {
    let overflowed = 0;
    const before = hub().subscriptionCount;
    const stream = hub().subscribe("executions", await aliceOrganization(), { onOverflow: () => overflowed++ });
    expect(hub().subscriptionCount).toBe(before + 1);

    await pushDelayed(BUFFER * 3);
    await eventually(async () => overflowed === 1);
    expect(hub().subscriptionCount).toBe(before);
    // What was buffered is discarded with the stream: the consumer resubscribes and refetches.
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it("keeps a consumer that reads as events come, however many events pass in total", async () => {
    const stream = hub().subscribe("executions", await aliceOrganization());
    const received: string[] = [];
    const rounds = 4;
    const perRound = BUFFER / 2;
    const reading = (async () => {
      for await (const execution of stream) {
        received.push(execution.id);
        if (received.length === rounds * perRound) break;
      }
    })();
    for (let round = 1; round <= rounds; round++) {
      await pushDelayed(perRound);
      await eventually(async () => received.length >= round * perRound);
    }
    await reading;
    expect(new Set(received).size).toBe(rounds * perRound);
  });
});

describe("a WebSocket subscriber that stops reading", () => {
  it("is closed with 1013 once its socket backs up and its buffer fills, while other subscribers keep receiving", async () => {
    // A raw graphql-transport-ws client whose TCP socket stops reading once the subscription is set up.
    const socket = new WebSocket(`${(runlater.instance.url as string).replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const messages: Array<{ id?: string; type: string }> = [];
    let closed: { code: number; reason: string } | null = null;
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    socket.on("close", (code, reason) => {
      closed = { code, reason: String(reason) };
    });
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${ALICE_KEY}` } }));
    await eventually(async () => messages.some((message) => message.type === "connection_ack"));
    // Each event repeats the task's 64 KiB body 8 times: 120 events are more than the kernel's socket buffers hold.
    const bodies = Array.from({ length: 8 }, (_, index) => `b${index}: body`).join(" ");
    const query = `subscription { executionUpdates { id task { ${bodies} } } }`;
    socket.send(JSON.stringify({ id: "events", type: "subscribe", payload: { query } }));
    socket.send(JSON.stringify({ id: "ready", type: "subscribe", payload: { query: "{ __typename }" } }));
    await eventually(async () => messages.some((message) => message.id === "ready" && message.type === "complete"));
    const reader = await liveAsAlice<{ executionUpdates: { id: string } }>("subscription { executionUpdates { id } }");
    const subscriptions = hub().subscriptionCount;
    const tcp = (socket as unknown as { _socket: import("node:net").Socket })._socket;
    tcp.pause();

    // Bursts of 5, half the buffer: a subscriber that reads keeps up.
    const body = "x".repeat(64 * 1024);
    for (let batch = 0; batch < 24; batch++) {
      const tasks = Array.from({ length: BUFFER / 2 }, (_, index) => ({
        url: `${runlater.sink.url}/${batch}-${index}`,
        delay: "1h",
        body,
      }));
      expect((await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks })).status).toBe(201);
    }
    await eventually(async () => hub().subscriptionCount === subscriptions - 1, 20_000);
    await reader.waitFor((events) => events.length >= 24 * (BUFFER / 2), 20_000);

    tcp.resume();
    await eventually(async () => closed !== null, 20_000);
    expect(closed).toMatchObject({ code: 1013 });
  }, 90_000);
});

describe("losing the LISTEN connection", () => {
  it("reconnects, closes live connections with 1012 so clients refetch, and delivers again", async () => {
    const watcher = await liveAsAlice<{ orgActivity: { kind: string } }>("subscription { orgActivity { kind } }");

    const admin = new pg.Client({ connectionString: runlater.database.url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runlater-live-events' AND datname = current_database()",
      );
      expect(rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await eventually(async () => watcher.closed !== null, 10_000);
    expect(watcher.closed?.code).toBe(1012);

    const again = await liveAsAlice<{ orgActivity: { kind: string } }>("subscription { orgActivity { kind } }");
    await pushDelayed(1);
    await again.waitFor((events) => events.some((event) => event.orgActivity.kind === "TASK_CREATED"));
  });
});
