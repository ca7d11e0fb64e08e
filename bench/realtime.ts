/**
 * Scenario 8 (realtime): N graphql-ws subscribers on the server process while
 * tasks run at a fixed rate on the worker process; the figure is the delay
 * from an execution's finishedAt (written by the worker) to its arrival at
 * each subscriber, through PostgreSQL NOTIFY, the server's LISTEN connection,
 * a batched row load, GraphQL execution and the WebSocket.
 *
 * Subscribers are spread over several organisations (a multi-tenant server:
 * each organisation's dashboards see only its own events), each subscribed to
 * `executionUpdates(status: [SUCCEEDED, FAILED])`, so every finished task
 * reaches every subscriber of its organisation.
 *
 * Baseline: a bare LISTEN connection in the bench process reading the same
 * notifications. finishedAt is the outcome transaction's start (now()), so
 * the baseline holds the worker's commit and PostgreSQL's delivery; the
 * difference is what the server adds.
 */
import { performance } from "node:perf_hooks";
import { type Client, createClient } from "graphql-ws";
import pg from "pg";
import WebSocket from "ws";
import { createPool } from "../server/db/pool.js";
import { createLogger } from "../server/logger.js";
import { createApiKey } from "../server/services/api-keys.js";
import { createOrganization } from "../server/services/organizations.js";
import { openLoop } from "./baselines.js";
import { query, sleep, waitUntil } from "./harness.js";
import { ApiClient, type Sink } from "./http.js";
import { type Row, ratio, summarize } from "./report.js";
import type { ScenarioContext } from "./scenarios.js";
import { pushOne } from "./workload.js";

export interface RealtimeSizes {
  subscribers: number;
  organizations: number;
  tasksPerSecond: number;
  seconds: number;
}

export const REALTIME_FULL: RealtimeSizes = { subscribers: 1000, organizations: 10, tasksPerSecond: 100, seconds: 20 };
export const REALTIME_QUICK: RealtimeSizes = { subscribers: 200, organizations: 10, tasksPerSecond: 100, seconds: 5 };

const TARGET_P99_MS = 100;
const CONNECT_CHUNK = 100;
const WARM_UP_SECONDS = 2;

interface Tenant {
  api: ApiClient;
  apiKey: string;
}

async function createTenants(databaseUrl: string, baseUrl: string, count: number): Promise<Tenant[]> {
  const pool = createPool(databaseUrl, { max: 2, logger: createLogger({ level: "silent" }), name: "bench-realtime" });
  try {
    const tenants: Tenant[] = [];
    for (let index = 0; index < count; index++) {
      const organization = await createOrganization(pool, { name: `Realtime tenant ${index}`, slug: `realtime-${index}-${Date.now()}` });
      // Deliveries of an organisation are capped at 5 in flight by default; a tenant pushes rate / organizations per second.
      await pool.query("UPDATE organizations SET concurrency_limit = 100 WHERE id = $1", [organization.id]);
      const { secret } = await createApiKey(pool, organization.id, { name: "bench" });
      tenants.push({ api: new ApiClient(baseUrl, secret), apiKey: secret });
    }
    return tenants;
  } finally {
    await pool.end();
  }
}

interface Subscriber {
  client: Client;
  /** finishedAt → arrival, per event. */
  delays: number[];
  received: Set<string>;
  /** Arrival time (epoch ms) per execution id. */
  arrivals: Map<string, number>;
}

function connectSubscriber(baseUrl: string, apiKey: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const subscriber: Subscriber = {
      client: createClient({
        url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${apiKey}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: reject,
      }),
      delays: [],
      received: new Set(),
      arrivals: new Map(),
    };
    subscriber.client.subscribe<{ executionUpdates: { id: string; taskId: string; finishedAt: string | null } }>(
      { query: "subscription { executionUpdates(status: [SUCCEEDED, FAILED]) { id taskId status finishedAt durationMs } }" },
      {
        next: (result) => {
          const event = result.data?.executionUpdates;
          if (!event?.finishedAt) return;
          const now = Date.now();
          subscriber.delays.push(now - Date.parse(event.finishedAt));
          subscriber.received.add(event.taskId);
          subscriber.arrivals.set(event.id, now);
        },
        error: reject,
        complete: () => undefined,
      },
    );
    // A query answered after the subscription on the same connection: the subscription is set up.
    subscriber.client.subscribe({ query: "{ __typename }" }, { next: () => undefined, error: reject, complete: () => resolve(subscriber) });
  });
}

export async function realtimeDelay(context: ScenarioContext, sink: Sink, sizes: RealtimeSizes): Promise<Row[]> {
  const scenario = "8 realtime";
  const { instance, log } = context;
  log(
    `8. realtime: ${sizes.subscribers} graphql-ws subscribers in ${sizes.organizations} organisations, ` +
      `${sizes.tasksPerSecond} tasks/s for ${sizes.seconds} s`,
  );
  const tenants = await createTenants(instance.database.url, instance.baseUrl, sizes.organizations);
  const serverRssIdle = (await instance.server?.rssMiB()) ?? null;
  // Baseline: the same notifications read by a bare LISTEN connection in this process (no load, no GraphQL, no WebSocket).
  const rawListener = new pg.Client({ connectionString: instance.database.url });
  const rawArrivals = new Map<string, number>();
  rawListener.on("notification", (message) => {
    const now = Date.now();
    const payload = JSON.parse(message.payload ?? "{}") as { k?: string; r?: Array<[string, string]> };
    if (payload.k !== "e") return;
    for (const [id, status] of payload.r ?? []) if (status === "SUCCEEDED" || status === "FAILED") rawArrivals.set(id, now);
  });
  await rawListener.connect();
  await rawListener.query("LISTEN runlater_events");
  const subscribers: Array<{ tenant: number; subscriber: Subscriber }> = [];
  const connectStarted = performance.now();
  try {
    for (let first = 0; first < sizes.subscribers; first += CONNECT_CHUNK) {
      const chunk = Array.from({ length: Math.min(CONNECT_CHUNK, sizes.subscribers - first) }, (_, offset) => first + offset);
      const connected = await Promise.all(
        chunk.map(async (index) => {
          const tenant = index % tenants.length;
          return { tenant, subscriber: await connectSubscriber(instance.baseUrl, (tenants[tenant] as Tenant).apiKey) };
        }),
      );
      subscribers.push(...connected);
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    const serverRssConnected = (await instance.server?.rssMiB()) ?? null;
    log(
      `   ${subscribers.length} subscribers connected in ${connectSeconds.toFixed(1)} s; ` +
        `server RSS ${serverRssIdle?.toFixed(0)} MiB before, ${serverRssConnected?.toFixed(0)} MiB after`,
    );

    const url = `${sink.url}/s8`;
    // Warm-up, not measured: the measured load for WARM_UP_SECONDS, so the first measured events do not pay for
    // compiling the fan-out path (without it, the first second's p99 was 63–71 ms against 15–45 ms afterwards).
    const warmUp = await openLoop(sizes.tasksPerSecond * WARM_UP_SECONDS, sizes.tasksPerSecond, (index) =>
      pushOne((tenants[index % tenants.length] as Tenant).api, { url }),
    );
    const warmUpFailures = (await Promise.all(warmUp)).filter((result) => result instanceof Error);
    if (warmUpFailures.length) throw new Error(`${warmUpFailures.length} warm-up pushes failed: ${warmUpFailures[0]}`);
    await sleep(2000);
    for (const { subscriber } of subscribers) {
      subscriber.delays.length = 0;
      subscriber.received.clear();
      subscriber.arrivals.clear();
    }
    rawArrivals.clear();

    const pushed: Array<{ tenant: number; id: string }> = [];
    const failures: string[] = [];
    const count = sizes.tasksPerSecond * sizes.seconds;
    const pushes = await openLoop(count, sizes.tasksPerSecond, async (index) => {
      const tenant = index % tenants.length;
      try {
        pushed.push({ tenant, id: await pushOne((tenants[tenant] as Tenant).api, { url }) });
      } catch (error) {
        failures.push(`#${index}: ${(error as Error).message}`);
      }
    });
    await Promise.all(pushes);
    const expected = (tenant: number) => pushed.filter((task) => task.tenant === tenant).map((task) => task.id);
    const expectedByTenant = tenants.map((_, tenant) => expected(tenant));
    const complete = () =>
      subscribers.every(({ tenant, subscriber }) => (expectedByTenant[tenant] as string[]).every((id) => subscriber.received.has(id)));
    await waitUntil(async () => complete(), { timeoutMs: 60_000, intervalMs: 250 });

    let missing = 0;
    for (const { tenant, subscriber } of subscribers) {
      for (const id of expectedByTenant[tenant] as string[]) if (!subscriber.received.has(id)) missing++;
    }
    const delays = summarize(subscribers.flatMap(({ subscriber }) => subscriber.delays));
    const finished = await query<{ id: string; finishedAt: Date }>(
      instance.database.url,
      `SELECT id, finished_at AS "finishedAt" FROM executions WHERE id = ANY($1::uuid[])`,
      [[...rawArrivals.keys()]],
    );
    const baseline = summarize(finished.map((row) => (rawArrivals.get(row.id) as number) - row.finishedAt.getTime()));
    // What the server adds: a subscriber's arrival minus the bare LISTEN connection's, per event.
    const added = summarize(
      subscribers.flatMap(({ subscriber }) =>
        [...subscriber.arrivals].flatMap(([id, at]) => (rawArrivals.has(id) ? [at - (rawArrivals.get(id) as number)] : [])),
      ),
    );
    const deliveries = delays.count;
    const serverRss = (await instance.server?.peakRssMiB()) ?? null;
    log(
      `   ${deliveries} events delivered (${missing} missing); delay p50 ${delays.p50} ms, p99 ${delays.p99} ms, max ${delays.max} ms; ` +
        `bare LISTEN p50 ${baseline.p50} ms, p99 ${baseline.p99} ms; added by the server p50 ${added.p50} ms, p99 ${added.p99} ms; ` +
        `server peak RSS ${serverRss?.toFixed(0)} MiB`,
    );
    context.details.realtime = {
      sizes,
      connectSeconds,
      deliveries,
      missing,
      delays,
      baseline,
      added,
      failures: failures.slice(0, 5),
      serverRss,
      serverRssIdle,
      serverRssConnected,
    };
    return [
      {
        scenario,
        figure: `event delay p50 (${sizes.subscribers} subscribers, ${sizes.tasksPerSecond} tasks/s)`,
        value: delays.p50,
        unit: "ms",
        baseline: baseline.p50,
        baselineLabel: "bare LISTEN",
        ratio: ratio(delays.p50, baseline.p50),
      },
      {
        scenario,
        figure: `event delay p99 (${sizes.subscribers} subscribers, ${sizes.tasksPerSecond} tasks/s)`,
        value: delays.p99,
        unit: "ms",
        baseline: baseline.p99,
        baselineLabel: "bare LISTEN",
        ratio: ratio(delays.p99, baseline.p99),
        target: `≤ ${TARGET_P99_MS} ms`,
        pass: delays.p99 !== null && delays.p99 <= TARGET_P99_MS && missing === 0,
        note: `${deliveries} events delivered, ${missing} missing; finishedAt → arrival`,
      },
      {
        scenario,
        figure: "delay added by the server p99 (bare LISTEN → subscriber)",
        value: added.p99,
        unit: "ms",
        note: `p50 ${added.p50} ms: row load, GraphQL execution and WebSocket send per subscriber`,
      },
    ];
  } finally {
    await Promise.all(subscribers.map(({ subscriber }) => subscriber.client.dispose()));
    for (const tenant of tenants) await tenant.api.close();
    await rawListener.end();
  }
}
