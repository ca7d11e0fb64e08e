// Slow subscribers are dropped rather than buffered without bound; a lost
// LISTEN connection is restored and clients are told to resynchronise.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { LiveEventHub } from "../../server/realtime/live-event-hub.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

const BUFFER = 10;
const runlater = useTestInstance({ env: { RUNLATER_SUBSCRIPTION_BUFFER: String(BUFFER) } });
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

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

describe("losing the LISTEN connection", () => {
  it("reconnects, closes live connections with 1012 so clients refetch, and delivers again", async () => {
    const watcher = subscribe<{ orgActivity: { kind: string } }>(
      runlater.instance.url as string,
      ALICE_KEY,
      "subscription { orgActivity { kind } }",
    );
    open.push(watcher as LiveSubscription<unknown>);
    await watcher.ready();

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

    const again = subscribe<{ orgActivity: { kind: string } }>(
      runlater.instance.url as string,
      ALICE_KEY,
      "subscription { orgActivity { kind } }",
    );
    open.push(again as LiveSubscription<unknown>);
    await again.ready();
    await pushDelayed(1);
    await again.waitFor((events) => events.some((event) => event.orgActivity.kind === "TASK_CREATED"));
  });
});
