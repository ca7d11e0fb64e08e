/**
 * Putting work into Runlater the way clients do (single and batch pushes over
 * the REST API) and, for backlogs too large to push in a run, the way a long
 * life in production leaves it (rows and pg-boss jobs written directly).
 */
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import { DISPATCH_QUEUE } from "../server/services/dispatch-queue.js";
import { openLoop } from "./baselines.js";
import { BENCH_API_KEY, type ChildProcessHandle, type CpuShares, measureCpu, query, withClient } from "./harness.js";
import type { ApiClient } from "./http.js";
import { summarize } from "./report.js";

export const BATCH_SIZE = 1000;

type TaskFields = Record<string, unknown>;

export type BatchProbe = { available: true } | { available: false; reason: string };

/** Whether POST /api/v1/tasks/batch exists: pushes one harmless task (delay 1h to `url`). */
export async function probeBatchRoute(api: ApiClient, url: string): Promise<BatchProbe> {
  const answer = await api.request("POST", "/api/v1/tasks/batch", { tasks: [{ url, delay: "1h" }] });
  if (answer.status === 201 || answer.status === 200) return { available: true };
  if (answer.status === 404) return { available: false, reason: "not available yet (POST /api/v1/tasks/batch answers 404)" };
  return { available: false, reason: `batch route refused the probe: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}` };
}

/** The ids of a batch answer, whichever shape it has: `{ids}`, `{tasks: [{id}]}` or `[{id}]`. */
export function batchIds(body: unknown): string[] {
  const object = (body ?? {}) as { ids?: unknown; tasks?: unknown };
  if (Array.isArray(object.ids)) return object.ids.map(String);
  const list = Array.isArray(body) ? body : Array.isArray(object.tasks) ? object.tasks : [];
  return list.map((task) => String((task as { id?: unknown }).id));
}

/** Pushes one batch; throws unless it is accepted whole. */
export async function pushBatch(api: ApiClient, tasks: TaskFields[]): Promise<string[]> {
  const answer = await api.request("POST", "/api/v1/tasks/batch", { tasks });
  const ids = batchIds(answer.body);
  if ((answer.status !== 201 && answer.status !== 200) || ids.length !== tasks.length) {
    throw new Error(`batch push failed: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  return ids;
}

/** Pushes one task; throws unless it is created. */
export async function pushOne(api: ApiClient, task: TaskFields): Promise<string> {
  const answer = await api.request("POST", "/api/v1/tasks", task);
  const id = (answer.body as { id?: unknown } | null)?.id;
  if (answer.status !== 201 || typeof id !== "string") {
    throw new Error(`push failed: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  return id;
}

/**
 * Creates `tasks` through the batch route (1,000 per request, `batchConcurrency`
 * at once) when available, else single pushes (64 at once). Ids in input order.
 */
export async function pushMany(
  api: ApiClient,
  tasks: TaskFields[],
  options: { useBatch: boolean; batchConcurrency?: number; timeoutMs: number },
): Promise<string[]> {
  const ids: string[] = new Array(tasks.length);
  const deadline = Date.now() + options.timeoutMs;
  const chunkSize = options.useBatch ? BATCH_SIZE : 1;
  const concurrency = options.useBatch ? (options.batchConcurrency ?? 4) : 64;
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tasks.length && !failed) {
        if (Date.now() > deadline) throw new Error(`pushing ${tasks.length} tasks took longer than ${options.timeoutMs / 1000} s`);
        const start = next;
        next += chunkSize;
        const chunk = tasks.slice(start, start + chunkSize);
        try {
          if (options.useBatch) {
            const created = await pushBatch(api, chunk);
            created.forEach((id, offset) => {
              ids[start + offset] = id;
            });
          } else {
            ids[start] = await pushOne(api, chunk[0] as TaskFields);
          }
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  return ids;
}

export interface CannonResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  durationSeconds: number;
  /** Ids of the tasks whose push was answered 201. */
  ids: string[];
}

/** Single pushes from `connections` keep-alive connections for `seconds`, each sent as soon as the last answered. */
export async function cannonPush(baseUrl: string, body: string, options: { connections: number; seconds: number }): Promise<CannonResult> {
  const ids: string[] = [];
  const started = performance.now();
  const result = await autocannon({
    url: `${baseUrl}/api/v1/tasks`,
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_API_KEY}`, "content-type": "application/json" },
    body,
    requests: [
      {
        onResponse: (status, text) => {
          if (status !== 201) return;
          const id = (JSON.parse(text) as { id?: unknown }).id;
          if (typeof id === "string") ids.push(id);
        },
      },
    ],
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
  });
  const durationSeconds = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: result["2xx"] / durationSeconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    durationSeconds,
    ids,
  };
}

/**
 * Single pushes at a steady `rate`, evenly spaced (open loop: a slow answer delays no later push), over the client's
 * keep-alive connections (up to 64). Each latency runs from the push's scheduled time, so a late start counts too.
 * autocannon's own rate limit is not used for this: it sends each connection's quota for a second back to back at the
 * start of the second (bursts at the peak rate), and its coordinated-omission correction assumes 1 ms between
 * requests whatever the rate, which fills the histogram with latencies no request had.
 */
export async function steadyPush(api: ApiClient, body: string, options: { rate: number; seconds: number }): Promise<CannonResult> {
  const ids: string[] = [];
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const intervalMs = 1000 / options.rate;
  const started = performance.now();
  const pushes = await openLoop(Math.round(options.rate * options.seconds), options.rate, async (index) => {
    const scheduled = started + index * intervalMs;
    try {
      const answer = await api.request("POST", "/api/v1/tasks", body);
      latencies.push(performance.now() - scheduled);
      const id = (answer.body as { id?: unknown } | null)?.id;
      if (answer.status === 201 && typeof id === "string") ids.push(id);
      else non2xx += 1;
    } catch {
      errors += 1;
    }
  });
  await Promise.all(pushes);
  const durationSeconds = (performance.now() - started) / 1000;
  const { p50, p99 } = summarize(latencies);
  return {
    requestsPerSecond: ids.length / durationSeconds,
    p50: p50 ?? 0,
    p99: p99 ?? 0,
    ok: ids.length,
    non2xx,
    errors,
    durationSeconds,
    ids,
  };
}

export interface LoadSettings {
  body: string;
  connections: number;
  seconds: number;
}

/** Scenario 1's push load: a 1 s warm-up, then the measured run, with the CPU used meanwhile (by `processes` among others). */
export async function measurePushLoad(
  baseUrl: string,
  processes: Record<string, ChildProcessHandle | null | undefined>,
  load: LoadSettings,
): Promise<{ result: CannonResult; cpu: CpuShares }> {
  await cannonPush(baseUrl, load.body, { connections: 16, seconds: 1 });
  return measureCpu(processes, () => cannonPush(baseUrl, load.body, { connections: load.connections, seconds: load.seconds }));
}

export async function organizationId(databaseUrl: string): Promise<string> {
  const rows = await query<{ id: string }>(databaseUrl, "SELECT id FROM organizations ORDER BY created_at LIMIT 1");
  if (!rows[0]) throw new Error("no organisation: the server should have bootstrapped one");
  return rows[0].id;
}

/** How many of `ids` have no task row. */
export async function missingTasks(databaseUrl: string, ids: string[]): Promise<number> {
  const rows = await query<{ count: number }>(databaseUrl, "SELECT count(*)::int AS count FROM tasks WHERE id = ANY($1::uuid[])", [ids]);
  return ids.length - (rows[0]?.count ?? 0);
}

export async function countTasks(databaseUrl: string, where: string, values: unknown[] = []): Promise<number> {
  const rows = await query<{ count: number }>(databaseUrl, `SELECT count(*)::int AS count FROM tasks WHERE ${where}`, values);
  return rows[0]?.count ?? 0;
}

/**
 * Writes `count` pending one-off tasks due at `runAt` as a push leaves them: the
 * task row, its first execution (admitted) and its pg-boss job (id = execution
 * id, the organisation's group), in chunks of 10,000, one transaction each.
 */
export async function seedPendingTasks(
  databaseUrl: string,
  options: { count: number; organizationId: string; url: string; runAt: Date; log: (message: string) => void },
): Promise<void> {
  if (options.count <= 0) return;
  const boss = new PgBoss({
    connectionString: databaseUrl,
    max: 2,
    supervise: false,
    schedule: false,
    application_name: "runlater-bench-seed",
  });
  boss.on("error", () => {});
  await boss.start();
  const chunk = 10_000;
  const started = Date.now();
  let lastLog = started;
  try {
    await withClient(databaseUrl, async (client) => {
      for (let done = 0; done < options.count; done += chunk) {
        const size = Math.min(chunk, options.count - done);
        const taskIds = Array.from({ length: size }, () => uuidv7());
        const executionIds = Array.from({ length: size }, () => uuidv7());
        await client.query("BEGIN");
        try {
          await client.query(`INSERT INTO tasks (id, organization_id, url, run_at) SELECT id, $2, $3, $4 FROM unnest($1::uuid[]) AS id`, [
            taskIds,
            options.organizationId,
            options.url,
            options.runAt,
          ]);
          await client.query(
            `INSERT INTO executions (id, organization_id, task_id, attempt, scheduled_for, admitted_at)
             SELECT e, $3, t, 1, $4, now() FROM unnest($1::uuid[], $2::uuid[]) AS x(t, e)`,
            [taskIds, executionIds, options.organizationId, options.runAt],
          );
          await boss.insert(
            DISPATCH_QUEUE,
            executionIds.map((id) => ({
              id,
              data: { executionId: id },
              startAfter: options.runAt,
              group: { id: options.organizationId, tier: options.organizationId },
            })),
            { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values) } },
          );
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          throw error;
        }
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          options.log(`  seeded ${done + size} of ${options.count} pending tasks`);
        }
      }
      // As autovacuum would have by then in production.
      await client.query("ANALYZE tasks");
      await client.query("ANALYZE executions");
      await client.query("ANALYZE pgboss.job");
    });
  } finally {
    await boss.stop({ graceful: false, close: true, timeout: 5000 }).catch(() => {});
  }
}
