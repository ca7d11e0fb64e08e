/**
 * The raw baselines, measured in the same run and on the same database as the
 * Runlater figure they are printed next to: what PostgreSQL (plain INSERTs into
 * a copy of the tasks table) and pg-boss alone (same version, own schema, no
 * Runlater around it) do on this machine.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { query, sleep, waitUntil, withClient } from "./harness.js";

const BENCH_TABLE = "bench_tasks";

/** The baseline's single-row INSERT: id, organisation and URL as $1, $2, $3, due in an hour. */
export const SINGLE_ROW_INSERT = `INSERT INTO ${BENCH_TABLE} (id, organization_id, url, run_at) VALUES ($1, $2, $3, now() + interval '1 hour')`;

/** The baseline's batch: the rows of ids $1, all of organisation $2 and URL $3, in one statement. */
export const MULTI_ROW_INSERT = `INSERT INTO ${BENCH_TABLE} (id, organization_id, url, run_at)
  SELECT id, $2, $3, now() + interval '1 hour' FROM unnest($1::uuid[]) AS id`;

/** The rows of a batch in one statement, each with its own URL ($3), as the stack ceiling writes them (ceiling-server.ts). */
export const MULTI_ROW_INSERT_PER_URL = `INSERT INTO ${BENCH_TABLE} (id, organization_id, url, run_at)
  SELECT id, $2, url, now() + interval '1 hour' FROM unnest($1::uuid[], $3::text[]) AS t(id, url)`;

/** A table with the columns and indexes of `tasks` (no foreign keys), emptied. */
export async function prepareBenchTable(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${BENCH_TABLE} (LIKE tasks INCLUDING ALL)`);
    await client.query(`TRUNCATE ${BENCH_TABLE}`);
  });
}

async function connectAll(databaseUrl: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: "runlater-bench-baseline" });
      client.on("error", () => {});
      await client.connect();
      return client;
    }),
  );
}

/** Single-row INSERTs, each its own commit, from `connections` connections for `durationMs`: commits/s. */
export async function rawInsertCommits(
  databaseUrl: string,
  options: { connections: number; durationMs: number; organizationId: string; targetUrl: string },
): Promise<{ commitsPerSecond: number; commits: number }> {
  await prepareBenchTable(databaseUrl);
  const clients = await connectAll(databaseUrl, options.connections);
  try {
    let commits = 0;
    const started = performance.now();
    const deadline = started + options.durationMs;
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < deadline) {
          await client.query({
            name: "bench-insert",
            text: SINGLE_ROW_INSERT,
            values: [uuidv7(), options.organizationId, options.targetUrl],
          });
          commits += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { commitsPerSecond: commits / seconds, commits };
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => {})));
  }
}

/** Multi-row INSERTs of `rowsPerStatement` rows, `statements` of them from `connections` connections: rows/s. */
export async function rawMultiRowInserts(
  databaseUrl: string,
  options: { connections: number; statements: number; rowsPerStatement: number; organizationId: string; targetUrl: string },
): Promise<{ rowsPerSecond: number; rows: number }> {
  await prepareBenchTable(databaseUrl);
  const clients = await connectAll(databaseUrl, options.connections);
  try {
    let next = 0;
    let rows = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (next < options.statements) {
          next += 1;
          const ids = Array.from({ length: options.rowsPerStatement }, () => uuidv7());
          await client.query({
            name: "bench-insert-many",
            text: MULTI_ROW_INSERT,
            values: [ids, options.organizationId, options.targetUrl],
          });
          rows += ids.length;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { rowsPerSecond: rows / seconds, rows };
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => {})));
  }
}

async function startBoss(databaseUrl: string, schema: string, options: { useListenNotify?: boolean } = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema,
    application_name: "runlater-bench-pgboss",
    useListenNotify: options.useListenNotify ?? false,
    schedule: false,
  });
  boss.on("error", (error) => console.error(`baseline pg-boss error: ${(error as Error).message}`));
  boss.on("warning", (warning) => console.error(`baseline pg-boss warning: ${JSON.stringify(warning).slice(0, 300)}`));
  await boss.start();
  return boss;
}

async function stopBoss(boss: PgBoss, databaseUrl: string, schema: string): Promise<void> {
  await boss.stop({ graceful: false, close: true, timeout: 5000 }).catch(() => {});
  await withClient(databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/**
 * Raw pg-boss dispatch: `jobs` jobs inserted with boss.insert, then consumed by a
 * burst-mode worker with a no-op handler. Jobs/s from the first job handed to the
 * handler until all are completed.
 */
export async function pgBossDispatch(
  databaseUrl: string,
  options: { jobs: number; timeoutMs: number },
): Promise<{ jobsPerSecond: number | null; completed: number }> {
  const schema = "bench_pgboss_dispatch";
  const queue = "bench-dispatch";
  const boss = await startBoss(databaseUrl, schema);
  try {
    await boss.createQueue(queue);
    for (let offset = 0; offset < options.jobs; offset += 1000) {
      const count = Math.min(1000, options.jobs - offset);
      await boss.insert(
        queue,
        Array.from({ length: count }, () => {
          const id = uuidv7();
          return { id, data: { executionId: id } };
        }),
      );
    }
    let first: number | null = null;
    await boss.work(queue, { batchSize: 100, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async () => {
      first ??= performance.now();
    });
    let completed = 0;
    await waitUntil(
      async () => {
        const rows = await query<{ count: number }>(
          databaseUrl,
          `SELECT count(*)::int AS count FROM ${schema}.job WHERE name = $1 AND state = 'completed'`,
          [queue],
        );
        completed = rows[0]?.count ?? 0;
        return completed >= options.jobs;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 100 },
    );
    const finished = performance.now();
    await boss.offWork(queue);
    if (first === null || completed < options.jobs) return { jobsPerSecond: null, completed };
    return { jobsPerSecond: options.jobs / ((finished - first) / 1000), completed };
  } finally {
    await stopBoss(boss, databaseUrl, schema);
  }
}

/**
 * Raw pg-boss send → work latency with LISTEN/NOTIFY (useListenNotify and a
 * notify queue), jobs sent at `ratePerSecond` for `durationMs`. Latencies in ms.
 */
export async function pgBossLatency(
  databaseUrl: string,
  options: { ratePerSecond: number; durationMs: number },
): Promise<{ latenciesMs: number[]; sent: number; received: number }> {
  const schema = "bench_pgboss_latency";
  const queue = "bench-latency";
  const boss = await startBoss(databaseUrl, schema, { useListenNotify: true });
  try {
    await boss.createQueue(queue, { notify: true });
    const sentAt = new Map<number, number>();
    const receivedAt = new Map<number, number>();
    // Fetches up to 100 at a time, as Runlater's dispatcher does; a NOTIFY wakes the fetch loop.
    await boss.work<{ index: number }>(queue, { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      const now = performance.now();
      for (const job of jobs) if (!receivedAt.has(job.data.index)) receivedAt.set(job.data.index, now);
    });
    // Let the listener connect, then warm up with a few jobs.
    await sleep(1000);
    const warmup = 10;
    for (let index = -warmup; index < 0; index++) {
      sentAt.set(index, performance.now());
      await boss.send(queue, { index });
    }
    await waitUntil(() => [...sentAt.keys()].filter((index) => index < 0).every((index) => receivedAt.has(index)), { timeoutMs: 10_000 });
    const count = Math.round((options.ratePerSecond * options.durationMs) / 1000);
    const sends = await openLoop(count, options.ratePerSecond, async (index) => {
      sentAt.set(index, performance.now());
      await boss.send(queue, { index });
    });
    await Promise.allSettled(sends);
    await waitUntil(() => receivedAt.size >= count + warmup, { timeoutMs: 30_000 });
    await boss.offWork(queue);
    const latenciesMs: number[] = [];
    for (let index = 0; index < count; index++) {
      const sent = sentAt.get(index);
      const received = receivedAt.get(index);
      if (sent !== undefined && received !== undefined) latenciesMs.push(received - sent);
    }
    return { latenciesMs, sent: count, received: latenciesMs.length };
  } finally {
    await stopBoss(boss, databaseUrl, schema);
  }
}

/**
 * Starts `count` operations at a fixed rate (open loop: a slow operation does
 * not delay the next start). Returns their promises.
 */
export async function openLoop(
  count: number,
  ratePerSecond: number,
  start: (index: number) => Promise<unknown>,
): Promise<Promise<unknown>[]> {
  const intervalMs = 1000 / ratePerSecond;
  const begin = performance.now();
  const started: Promise<unknown>[] = [];
  for (let index = 0; index < count; index++) {
    const due = begin + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    started.push(start(index).catch((error: unknown) => error));
  }
  return started;
}
