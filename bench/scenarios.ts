/**
 * The scenarios of issue 6, each measured next to its baseline on the same
 * database in the same run. Each returns rows for the report; correctness
 * (every task delivered, none twice) is checked while measuring.
 */
import { performance } from "node:perf_hooks";
import { validatePush } from "../server/services/tasks.js";
import { openLoop, pgBossDispatch, pgBossLatency, rawInsertCommits, rawMultiRowInserts } from "./baselines.js";
import type { CeilingMode } from "./ceiling-server.js";
import {
  type Cleanup,
  type CpuShares,
  measureCpu,
  type RunlaterInstance,
  sleep,
  waitForVacuums,
  waitUntil,
  withClient,
} from "./harness.js";
import { ApiClient, deliveryCheck, type Sink } from "./http.js";
import { type CeilingOutcome, captureAnswer, describeCpu, measureHttpCeilings, startCeilingServer } from "./http-ceilings.js";
import {
  type BatchInsertWork,
  describePlan,
  explainBatchInserts,
  explainHotQueries,
  type PlanSummary,
  USES_INDEX_RULE,
  usesIndex,
} from "./query-plans.js";
import { firstLine, type Row, ratio, summarize } from "./report.js";
import {
  BATCH_SIZE,
  type BatchProbe,
  batchIds,
  cannonPush,
  countTasks,
  type LoadSettings,
  measurePushLoad,
  missingTasks,
  organizationId,
  probeBatchRoute,
  pushMany,
  pushOne,
  seedPendingTasks,
  steadyPush,
} from "./workload.js";

export interface Sizes {
  pushSeconds: number;
  batches: number;
  dispatchTasks: number;
  latencySeconds: number;
  latencyRate: number;
  delayedTasks: number;
  delayedSpreadSeconds: number;
  cronTasks: number;
  cronMinutes: number;
  backlogSizes: number[];
  backlogPushSeconds: number;
  backlogDispatchTasks: number;
}

export const FULL: Sizes = {
  pushSeconds: 10,
  batches: 30,
  dispatchTasks: 100_000,
  // 3,000 pushes: p99 is then the 30th slowest, not the 10th, and one stall of the host moves it less (both sides).
  latencySeconds: 30,
  latencyRate: 100,
  delayedTasks: 5000,
  delayedSpreadSeconds: 20,
  cronTasks: 10_000,
  cronMinutes: 3,
  backlogSizes: [1e3, 1e5, 1e6],
  backlogPushSeconds: 5,
  backlogDispatchTasks: 20_000,
};

export const QUICK: Sizes = {
  pushSeconds: 3,
  batches: 5,
  dispatchTasks: 10_000,
  latencySeconds: 5,
  latencyRate: 100,
  delayedTasks: 1000,
  delayedSpreadSeconds: 10,
  cronTasks: 1000,
  cronMinutes: 1,
  backlogSizes: [1e3, 1e5],
  backlogPushSeconds: 2,
  backlogDispatchTasks: 2000,
};

export interface ScenarioContext {
  instance: RunlaterInstance;
  /** For processes a scenario starts of its own. */
  cleanup: Cleanup;
  sizes: Sizes;
  log: (message: string) => void;
  /** Raw figures, kept in the JSON. */
  details: Record<string, unknown>;
}

const PUSH_CONNECTIONS = 64;
const BASELINE_INSERT_CONNECTIONS = 8;
const BATCH_CONCURRENCY = 4;

function correctnessRow(scenario: string, check: { expected: number; lost: number; duplicates: number }, extra = ""): Row {
  const value = check.lost + check.duplicates;
  return {
    scenario,
    figure: "lost + duplicated",
    value,
    unit: "",
    target: "0",
    pass: value === 0,
    note: `${check.expected} expected, ${check.lost} lost, ${check.duplicates} duplicated${extra}`,
  };
}

function unavailable(scenario: string, figure: string, note: string): Row {
  return { scenario, figure, value: null, unit: "", note };
}

async function batchRoute(api: ApiClient, sinkUrl: string, context: ScenarioContext): Promise<BatchProbe> {
  const probe = await probeBatchRoute(api, `${sinkUrl}/probe`);
  if (!probe.available) context.log(`  ${probe.reason}`);
  return probe;
}

// ---------------------------------------------------------------------------
// 1. Push throughput

export async function pushThroughput(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "1 push throughput";
  const { instance, sizes, log } = context;
  const databaseUrl = instance.database.url;
  const load: LoadSettings = {
    body: JSON.stringify({ url: `${sink.url}/s1`, delay: "1h" }),
    connections: PUSH_CONNECTIONS,
    seconds: sizes.pushSeconds,
  };
  log(`1. push throughput: warm-up, then ${PUSH_CONNECTIONS} connections for ${sizes.pushSeconds} s`);
  const { result: peak, cpu: peakCpu } = await measurePushLoad(
    instance.baseUrl,
    { "Runlater server": instance.server, worker: instance.worker },
    load,
  );
  const halfRate = Math.max(1, Math.floor(peak.requestsPerSecond / 2));
  log(`   ${Math.round(peak.requestsPerSecond)} req/s; again at half that rate (${halfRate} req/s)`);
  const half = await steadyPush(instance.api, load.body, { rate: halfRate, seconds: sizes.pushSeconds });
  // Every push answered 201 must have written its task.
  const answered = peak.ok + half.ok;
  const lost = await missingTasks(databaseUrl, [...peak.ids, ...half.ids]);

  log(`   baseline: single-row INSERT commits from ${BASELINE_INSERT_CONNECTIONS} connections for ${sizes.pushSeconds} s`);
  const organization = await organizationId(databaseUrl);
  const baseline = await rawInsertCommits(databaseUrl, {
    connections: BASELINE_INSERT_CONNECTIONS,
    durationMs: sizes.pushSeconds * 1000,
    organizationId: organization,
    targetUrl: `${sink.url}/s1`,
  });
  log(
    `   ${Math.round(baseline.commitsPerSecond)} commits/s; ceilings: the same load on a minimal node:http server, bare, then + INSERT, then on the bare stack (Yoga + SOFA)`,
  );
  const { answer, ceilings } = await measureHttpCeilings(instance.api, {
    databaseUrl,
    organizationId: organization,
    load,
    cleanup: context.cleanup,
    log,
  });
  const withoutIds = ({ ids: _ids, ...rest }: typeof peak) => rest;
  context.details.pushThroughput = {
    peak: withoutIds(peak),
    peakCpu,
    half: withoutIds(half),
    halfRate,
    lost,
    baseline,
    ceilings: { replayedAnswer: answer, measured: ceilings },
  };
  const pushRatio = ratio(peak.requestsPerSecond, baseline.commitsPerSecond);
  const failures = peak.non2xx + peak.errors + half.non2xx + half.errors;
  return [
    {
      scenario,
      figure: `requests/s (${PUSH_CONNECTIONS} conns)`,
      value: peak.requestsPerSecond,
      unit: "/s",
      baseline: baseline.commitsPerSecond,
      baselineLabel: `INSERT commits, ${BASELINE_INSERT_CONNECTIONS} conns`,
      ratio: pushRatio,
      target: "ratio ≥ 0.5",
      pass: pushRatio === null ? null : pushRatio >= 0.5,
      note: describeCpu(peakCpu),
    },
    ...ceilings.map((ceiling) => ceilingRow(scenario, ceiling, peak.requestsPerSecond)),
    { scenario, figure: "p50 at peak", value: peak.p50, unit: "ms" },
    { scenario, figure: "p99 at peak", value: peak.p99, unit: "ms" },
    {
      scenario,
      figure: `p99 at half peak (${halfRate}/s)`,
      value: half.p99,
      unit: "ms",
      target: "≤ 50 ms",
      pass: half.p99 <= 50,
      note: `achieved ${Math.round(half.requestsPerSecond)} req/s, evenly spaced over up to ${PUSH_CONNECTIONS} keep-alive connections; p50 ${half.p50.toFixed(1)} ms; latency from each push's scheduled time`,
    },
    {
      scenario,
      figure: "failed or lost pushes",
      value: failures + lost,
      unit: "",
      target: "0",
      pass: failures === 0 && lost === 0,
      note: `${answered} answered 201, ${lost} of them without a task row, ${failures} errors or non-2xx`,
    },
  ];
}

const CEILING_FIGURES: Record<CeilingMode, string> = {
  bare: "ceiling: bare node:http 201 answers",
  insert: "ceiling: node:http + JSON.parse + 1 INSERT (pool of 10)",
  stack: "ceiling: Yoga + SOFA + graphql-jit pushTask route + 1 INSERT, no Runlater code",
};

/** A ceiling's req/s; its ratio column is Runlater's req/s over it: how close Runlater came. */
function ceilingRow(scenario: string, ceiling: CeilingOutcome, runlaterPerSecond: number): Row {
  const figure = CEILING_FIGURES[ceiling.mode];
  if ("error" in ceiling) return unavailable(scenario, figure, `not measured: ${ceiling.error}`);
  const refused = ceiling.non2xx + ceiling.errors;
  return {
    scenario,
    figure,
    value: ceiling.requestsPerSecond,
    unit: "/s",
    ratio: ratio(runlaterPerSecond, ceiling.requestsPerSecond),
    note:
      `ratio = Runlater's ${Math.round(runlaterPerSecond)} req/s ÷ this; ${describeCpu(ceiling.cpu)}` +
      (refused > 0 ? `; ${refused} non-2xx or errors` : ""),
  };
}

// ---------------------------------------------------------------------------
// 2. Batch push

export async function batchPush(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "2 batch push";
  const { instance, sizes, log } = context;
  const databaseUrl = instance.database.url;
  log(`2. batch push: ${sizes.batches} × ${BATCH_SIZE} tasks, ${BATCH_CONCURRENCY} at once`);
  const probe = await batchRoute(instance.api, sink.url, context);
  if (!probe.available) return [unavailable(scenario, "tasks/s", probe.reason)];

  const tasks = Array.from({ length: BATCH_SIZE }, () => ({ url: `${sink.url}/s2`, delay: "1h" }));
  const payload = JSON.stringify({ tasks });
  // Warmed up as the stack ceiling below is: its first batches run colder code.
  await pushBatches(instance.api, payload, BATCH_CONCURRENCY);
  const before = await countTasks(databaseUrl, "true");
  const { seconds, failed, failure } = await pushBatches(instance.api, payload, sizes.batches);
  const accepted = (sizes.batches - failed) * BATCH_SIZE;
  const tasksPerSecond = accepted > 0 ? accepted / seconds : null;
  const created = (await countTasks(databaseUrl, "true")) - before;

  log(
    `   ${tasksPerSecond === null ? "no batch accepted" : `${Math.round(tasksPerSecond)} tasks/s`}; baseline: multi-row INSERTs of ${BATCH_SIZE} rows`,
  );
  const organization = await organizationId(databaseUrl);
  const baseline = await rawMultiRowInserts(databaseUrl, {
    connections: BATCH_CONCURRENCY,
    statements: sizes.batches,
    rowsPerStatement: BATCH_SIZE,
    organizationId: organization,
    targetUrl: `${sink.url}/s2`,
  });
  const databaseWork = await explainBatchInserts(databaseUrl, {
    organizationId: organization,
    tasks: tasks.map((task) => validatePush(task, new Date(), { allowPrivateTargets: true })),
    targetUrl: `${sink.url}/s2`,
  }).catch((error: unknown) => ({ error: firstLine(error) }));
  log(`   ${Math.round(baseline.rowsPerSecond)} rows/s; ceiling: the same batches on the bare stack (Yoga + SOFA)`);
  const ceiling = await measureBatchStackCeiling(context, { payload, organizationId: organization, sinkUrl: sink.url });
  if ("error" in ceiling) log(`   stack ceiling failed: ${ceiling.error}`);
  else log(`   stack ceiling: ${Math.round(ceiling.tasksPerSecond)} tasks/s; ${describeCpu(ceiling.cpu)}`);
  context.details.batchPush = { seconds, tasksPerSecond, failed, failure, created, baseline, stackCeiling: ceiling, databaseWork };
  const batchRatio = ratio(tasksPerSecond, baseline.rowsPerSecond);
  const ceilingFigure = "ceiling: Yoga + SOFA + graphql-jit pushTasks route + 1 multi-row INSERT, no Runlater code";
  return [
    {
      scenario,
      figure: `tasks/s (${BATCH_SIZE}/batch, ${BATCH_CONCURRENCY} at once)`,
      value: tasksPerSecond,
      unit: "/s",
      baseline: baseline.rowsPerSecond,
      baselineLabel: `multi-row INSERT, ${BATCH_CONCURRENCY} conns`,
      ratio: batchRatio,
      target: "ratio ≥ 0.4, ≥ 10,000/s",
      pass: batchRatio === null || tasksPerSecond === null ? false : batchRatio >= 0.4 && tasksPerSecond >= 10_000,
      ...(tasksPerSecond === null ? { note: `every batch failed: ${failure}` } : {}),
    },
    "error" in ceiling
      ? unavailable(scenario, ceilingFigure, `not measured: ${ceiling.error}`)
      : {
          scenario,
          figure: ceilingFigure,
          value: ceiling.tasksPerSecond,
          unit: "/s",
          ratio: ratio(tasksPerSecond, ceiling.tasksPerSecond),
          note: `ratio = Runlater's tasks/s ÷ this; ${ceiling.failed} batches failed; ${describeCpu(ceiling.cpu)}`,
        },
    databaseWorkRow(scenario, databaseWork),
    {
      scenario,
      figure: "failed batches or lost tasks",
      value: failed + Math.abs(accepted - created),
      unit: "",
      target: "0",
      pass: failed === 0 && accepted === created,
      note: `${sizes.batches - failed} batches accepted, ${created} tasks written${failure ? `; first failure: ${failure}` : ""}`,
    },
  ];
}

/**
 * What PostgreSQL spends executing a batch, Runlater's statement against the baseline's (Runlater's time ÷ the
 * baseline's): the database's own share of the gap, apart from what both pay per statement (round trip, commit).
 */
function databaseWorkRow(scenario: string, work: BatchInsertWork | { error: string }): Row {
  const figure = `PostgreSQL time per ${BATCH_SIZE.toLocaleString("en-US")}-task statement (EXPLAIN ANALYZE)`;
  if ("error" in work) return unavailable(scenario, figure, `not measured: ${work.error}`);
  return {
    scenario,
    figure,
    value: work.runlaterMs,
    unit: "ms",
    baseline: work.baselineMs,
    baselineLabel: `the baseline's ${work.tasks.toLocaleString("en-US")}-row INSERT`,
    ratio: ratio(work.runlaterMs, work.baselineMs),
    note:
      `a task is a tasks row and an executions row (${work.indexes} indexes between them); of the ${work.runlaterMs.toFixed(1)} ms, ` +
      `foreign-key checks ${work.foreignKeyChecksMs.toFixed(1)} ms (${work.foreignKeyChecksPerTask} per task), live-event triggers ` +
      `${work.eventTriggersMs.toFixed(1)} ms`,
  };
}

/** `batches` POSTs of `payload` to the batch route, BATCH_CONCURRENCY at once; failures counted, the first one kept. */
async function pushBatches(
  api: ApiClient,
  payload: string,
  batches: number,
): Promise<{ seconds: number; failed: number; failure: string }> {
  let next = 0;
  let failed = 0;
  let failure = "";
  const started = performance.now();
  await Promise.all(
    Array.from({ length: BATCH_CONCURRENCY }, async () => {
      while (next < batches) {
        next += 1;
        const answer = await api.request("POST", "/api/v1/tasks/batch", payload);
        if (answer.status !== 201 || batchIds(answer.body).length !== BATCH_SIZE) {
          failed += 1;
          failure ||= `HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
        }
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, failed, failure };
}

/**
 * Scenario 2's ceiling: the same batches against the stack alone (ceiling-server.ts, mode stack), which writes each
 * batch with one multi-row INSERT: what any batch route built on Yoga + SOFA can reach on this machine.
 */
async function measureBatchStackCeiling(
  context: ScenarioContext,
  options: { payload: string; organizationId: string; sinkUrl: string },
): Promise<{ tasksPerSecond: number; failed: number; cpu: CpuShares } | { error: string }> {
  const { instance, sizes } = context;
  try {
    const answer = await captureAnswer(instance.api, JSON.stringify({ url: `${options.sinkUrl}/s2`, delay: "1h" }));
    const ceiling = await startCeilingServer("stack", {
      answer,
      databaseUrl: instance.database.url,
      organizationId: options.organizationId,
      cleanup: context.cleanup,
    });
    const api = new ApiClient(ceiling.url, "none");
    try {
      await pushBatches(api, options.payload, BATCH_CONCURRENCY);
      const { result, cpu } = await measureCpu({ "ceiling server": ceiling.process }, () =>
        pushBatches(api, options.payload, sizes.batches),
      );
      const accepted = (sizes.batches - result.failed) * BATCH_SIZE;
      return { tasksPerSecond: accepted / result.seconds, failed: result.failed, cpu };
    } finally {
      await api.close();
      await ceiling.stop();
    }
  } catch (error) {
    return { error: firstLine(error) };
  }
}

// ---------------------------------------------------------------------------
// 3. Dispatch throughput (and the shortened form used by 7)

interface DispatchMeasurement {
  executionsPerSecond: number | null;
  seconds: number | null;
  check: { expected: number; lost: number; duplicates: number };
}

/** Waits until every task in `ids` is SUCCEEDED; executions/s from the first delivery to the last success. */
async function measureDispatch(
  databaseUrl: string,
  sink: Sink,
  ids: string[],
  options: { organizationId: string; succeededBefore: number; timeoutMs: number },
): Promise<DispatchMeasurement> {
  const expected = ids.length;
  let lastPoll = 0;
  const allSucceeded = await waitUntil(
    async () => {
      // The sink says when everything was delivered; the database when it was recorded.
      const delivered = sink.deliveries.size >= expected;
      if (!delivered && performance.now() - lastPoll < 500) return false;
      lastPoll = performance.now();
      const succeeded = await countTasks(databaseUrl, "organization_id = $1 AND status = 'SUCCEEDED'", [options.organizationId]);
      return succeeded - options.succeededBefore >= expected;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 25 },
  );
  const finished = performance.now();
  // Late repeats would show up in the next moment.
  await sleep(500);
  const check = deliveryCheck(sink, ids);
  const first = sink.firstPerfMs();
  if (!allSucceeded || first === null) return { executionsPerSecond: null, seconds: null, check };
  const seconds = (finished - first) / 1000;
  return { executionsPerSecond: expected / seconds, seconds, check };
}

function dispatchTimeoutMs(tasks: number): number {
  // Bounded, and generous: 60 s plus 20 ms per task (50 executions/s).
  return 60_000 + tasks * 20;
}

export async function dispatchThroughput(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "3 dispatch throughput";
  const { instance, sizes, log } = context;
  const databaseUrl = instance.database.url;
  const organization = await organizationId(databaseUrl);
  await instance.stopWorker();
  const probe = await batchRoute(instance.api, sink.url, context);
  const method = probe.available ? "batch pushes" : "single pushes (batch route not available)";
  log(`3. dispatch throughput: ${sizes.dispatchTasks} due tasks created with the worker stopped, by ${method}`);
  const url = `${sink.url}/s3`;
  const tasks = Array.from({ length: sizes.dispatchTasks }, () => ({ url }));
  const ids = await pushMany(instance.api, tasks, { useBatch: probe.available, timeoutMs: 30 * 60_000 });
  const succeededBefore = await countTasks(databaseUrl, "organization_id = $1 AND status = 'SUCCEEDED'", [organization]);
  log("   starting the worker");
  await instance.startWorker();
  const measured = await measureDispatch(databaseUrl, sink, ids, {
    organizationId: organization,
    succeededBefore,
    timeoutMs: dispatchTimeoutMs(ids.length),
  });
  log(`   ${measured.executionsPerSecond === null ? "did not finish" : `${Math.round(measured.executionsPerSecond)} executions/s`}`);

  log(`   waited ${(await waitForVacuums(databaseUrl)).toFixed(1)} s for the worker's vacuum after the drain`);
  log(`   baseline: raw pg-boss, ${sizes.dispatchTasks} jobs, burst mode, no-op handler`);
  const baseline = await pgBossDispatch(databaseUrl, { jobs: sizes.dispatchTasks, timeoutMs: dispatchTimeoutMs(sizes.dispatchTasks) });
  context.details.dispatchThroughput = { method, ...measured, baseline };
  const dispatchRatio = ratio(measured.executionsPerSecond, baseline.jobsPerSecond);
  return [
    {
      scenario,
      figure: `executions/s (${sizes.dispatchTasks.toLocaleString("en-US")} backlog)`,
      value: measured.executionsPerSecond,
      unit: "/s",
      baseline: baseline.jobsPerSecond,
      baselineLabel: "raw pg-boss jobs",
      ratio: dispatchRatio,
      target: "ratio ≥ 0.5, ≥ 3,000/s",
      pass:
        measured.executionsPerSecond === null || dispatchRatio === null
          ? false
          : dispatchRatio >= 0.5 && measured.executionsPerSecond >= 3000,
      note:
        measured.executionsPerSecond === null
          ? `did not finish within ${dispatchTimeoutMs(ids.length) / 1000} s (${sink.deliveries.size} of ${ids.length} delivered)`
          : `backlog created by ${method}`,
    },
    correctnessRow(scenario, measured.check),
  ];
}

// ---------------------------------------------------------------------------
// 4. Dispatch latency

export async function dispatchLatency(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "4 dispatch latency";
  const { instance, sizes, log } = context;
  const url = `${sink.url}/s4`;
  const count = sizes.latencyRate * sizes.latencySeconds;
  log(`4. dispatch latency: ${sizes.latencyRate} pushes/s for ${sizes.latencySeconds} s, due now`);
  const vacuumWait = await waitForVacuums(instance.database.url);
  if (vacuumWait > 1.5) log(`   waited ${vacuumWait.toFixed(1)} s for the worker's vacuum`);
  // Warm-up (connections, JIT), not measured.
  const warmup = await Promise.all(Array.from({ length: 10 }, () => pushOne(instance.api, { url })));
  await waitUntil(() => warmup.every((id) => sink.deliveries.has(id)), { timeoutMs: 15_000 });

  const pushedAt = new Map<string, number>();
  const failures: string[] = [];
  const pushes = await openLoop(count, sizes.latencyRate, async (index) => {
    const started = performance.now();
    try {
      pushedAt.set(await pushOne(instance.api, { url }), started);
    } catch (error) {
      failures.push(`#${index}: ${(error as Error).message}`);
    }
  });
  await Promise.all(pushes);
  await waitUntil(() => [...pushedAt.keys()].every((id) => sink.deliveries.has(id)), { timeoutMs: 30_000 });
  await sleep(500);
  const latencies: number[] = [];
  for (const [id, started] of pushedAt) {
    const delivery = sink.deliveries.get(id)?.[0];
    if (delivery) latencies.push(delivery.perfMs - started);
  }
  const runlater = summarize(latencies);
  log(`   p50 ${runlater.p50?.toFixed(1)} ms, p99 ${runlater.p99?.toFixed(1)} ms; baseline: raw pg-boss send → work with LISTEN/NOTIFY`);
  const baselineRun = await pgBossLatency(instance.database.url, {
    ratePerSecond: sizes.latencyRate,
    durationMs: sizes.latencySeconds * 1000,
  });
  const baseline = summarize(baselineRun.latenciesMs);
  context.details.dispatchLatency = { runlater, failures: failures.slice(0, 5), baseline, baselineSent: baselineRun.sent };
  const check = deliveryCheck(sink, [...pushedAt.keys(), ...warmup]);
  const p99Ratio = ratio(runlater.p99, baseline.p99);
  return [
    {
      scenario,
      figure: "p50 push → delivery",
      value: runlater.p50,
      unit: "ms",
      baseline: baseline.p50,
      baselineLabel: "pg-boss send → work",
      ratio: ratio(runlater.p50, baseline.p50),
      target: "≤ 10 ms",
      pass: runlater.p50 === null ? false : runlater.p50 <= 10,
    },
    {
      scenario,
      figure: "p99 push → delivery",
      value: runlater.p99,
      unit: "ms",
      baseline: baseline.p99,
      baselineLabel: "pg-boss send → work",
      ratio: p99Ratio,
      target: "≤ 30 ms, ratio ≤ 1.5",
      pass: runlater.p99 === null || p99Ratio === null ? false : runlater.p99 <= 30 && p99Ratio <= 1.5,
    },
    {
      scenario,
      figure: "max push → delivery",
      value: runlater.max,
      unit: "ms",
      baseline: baseline.max,
      baselineLabel: "pg-boss send → work",
      ratio: ratio(runlater.max, baseline.max),
    },
    correctnessRow(scenario, check, failures.length ? `, ${failures.length} pushes failed` : ""),
  ];
}

// ---------------------------------------------------------------------------
// 5. Delayed-task lateness

export async function delayedLateness(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "5 delayed lateness";
  const { instance, sizes, log } = context;
  const url = `${sink.url}/s5`;
  const probe = await batchRoute(instance.api, sink.url, context);
  const count = sizes.delayedTasks;
  const spreadMs = sizes.delayedSpreadSeconds * 1000;
  // Enough lead time to push everything before the first one is due.
  const leadMs = 4000 + (probe.available ? count / 2 : count * 5);
  const firstDue = Date.now() + leadMs;
  const dueTimes = Array.from({ length: count }, (_, index) => firstDue + Math.floor((index * spreadMs) / count));
  log(
    `5. delayed lateness: ${count} tasks due over ${sizes.delayedSpreadSeconds} s, pushed by ${probe.available ? "batch" : "single"} pushes`,
  );
  const ids = await pushMany(
    instance.api,
    dueTimes.map((due) => ({ url, runAt: new Date(due).toISOString() })),
    { useBatch: probe.available, timeoutMs: leadMs + spreadMs },
  );
  const pushedLateBy = Date.now() - firstDue;
  if (pushedLateBy > 0) log(`   warning: pushing ended ${pushedLateBy} ms after the first task was due`);
  await waitUntil(() => ids.every((id) => sink.deliveries.has(id)), { timeoutMs: leadMs + spreadMs + 30_000 });
  await sleep(500);
  const lateness: number[] = [];
  ids.forEach((id, index) => {
    const delivery = sink.deliveries.get(id)?.[0];
    if (delivery) lateness.push(delivery.wallMs - (dueTimes[index] as number));
  });
  const early = lateness.filter((ms) => ms < 0).length;
  const summary = summarize(lateness);
  context.details.delayedLateness = { summary, early, pushedLateBy, earliestMs: Math.min(...lateness) };
  return [
    { scenario, figure: "p50 received − due", value: summary.p50, unit: "ms" },
    {
      scenario,
      figure: "p99 received − due",
      value: summary.p99,
      unit: "ms",
      target: "≤ 100 ms",
      pass: summary.p99 === null ? false : summary.p99 <= 100,
    },
    { scenario, figure: "max received − due", value: summary.max, unit: "ms" },
    { scenario, figure: "delivered early", value: early, unit: "", target: "0", pass: early === 0 },
    correctnessRow(
      scenario,
      deliveryCheck(sink, ids),
      pushedLateBy > 0 ? `; pushing ended ${pushedLateBy} ms after the first due time` : "",
    ),
  ];
}

// ---------------------------------------------------------------------------
// 6. Cron lateness

export async function cronLateness(context: ScenarioContext, sink: Sink): Promise<Row[]> {
  const scenario = "6 cron lateness";
  const { instance, sizes, log } = context;
  const url = `${sink.url}/s6`;
  log(`6. cron lateness: ${sizes.cronTasks} tasks "* * * * *" for ${sizes.cronMinutes} min`);
  const first = await instance.api.request("POST", "/api/v1/tasks", { url, cron: "* * * * *" });
  const firstId = (first.body as { id?: unknown } | null)?.id;
  if (first.status !== 201 || typeof firstId !== "string") {
    return [
      unavailable(
        scenario,
        "slot lateness",
        `not available yet (cron push refused: HTTP ${first.status} ${JSON.stringify(first.body).slice(0, 160)})`,
      ),
    ];
  }
  const probe = await batchRoute(instance.api, sink.url, context);
  const rest = await pushMany(
    instance.api,
    Array.from({ length: sizes.cronTasks - 1 }, () => ({ url, cron: "* * * * *" })),
    { useBatch: probe.available, timeoutMs: 10 * 60_000 },
  );
  const ids = [firstId, ...rest];
  // Slots strictly after the push (with a second of margin), so every task exists before each of them.
  const minute = 60_000;
  const firstSlot = Math.ceil((Date.now() + 1000) / minute) * minute;
  const slots = Array.from({ length: sizes.cronMinutes }, (_, index) => firstSlot + index * minute);
  const lastSlot = slots.at(-1) as number;
  log(`   pushed; observing slots ${slots.map((slot) => new Date(slot).toISOString().slice(11, 16)).join(", ")} UTC`);
  const taskIds = new Set(ids);
  await waitUntil(
    () => {
      if (Date.now() < lastSlot) return false;
      let seen = 0;
      for (const [taskId, deliveries] of sink.deliveries) {
        if (taskIds.has(taskId) && deliveries.some((delivery) => delivery.wallMs >= lastSlot)) seen += 1;
      }
      return seen >= ids.length;
    },
    { timeoutMs: lastSlot - Date.now() + 30_000, intervalMs: 250 },
  );
  await sleep(1000);

  // Firing is read from the database: a run has fired once its execution exists and is due for dispatch,
  // i.e. its pg-boss job exists (admitted_at) and its due time (scheduled_for = the slot) has come.
  const fired = await withClient(instance.database.url, async (client) => {
    const { rows } = await client.query<{
      taskId: string;
      slot: Date;
      runs: number;
      firedAt: Date | null;
      writtenAt: Date;
      startedAt: Date | null;
    }>(
      `SELECT task_id AS "taskId", scheduled_for AS slot, count(*)::int AS runs,
              min(CASE WHEN admitted_at IS NOT NULL THEN GREATEST(created_at, admitted_at, scheduled_for) END) AS "firedAt",
              max(GREATEST(created_at, admitted_at)) AS "writtenAt", min(started_at) AS "startedAt"
       FROM executions WHERE task_id = ANY($1::uuid[]) AND attempt = 1 AND scheduled_for = ANY($2::timestamptz[])
       GROUP BY 1, 2`,
      [ids, slots.map((slot) => new Date(slot))],
    );
    return rows;
  });
  // Which slot each delivery belongs to: its execution's scheduled_for.
  const executionIds: string[] = [];
  for (const deliveries of sink.deliveries.values()) for (const delivery of deliveries) executionIds.push(delivery.executionId);
  const slotOf = await withClient(instance.database.url, async (client) => {
    const { rows } = await client.query<{ id: string; scheduled_for: Date }>(
      "SELECT id, scheduled_for FROM executions WHERE id = ANY($1::uuid[])",
      [executionIds],
    );
    return new Map(rows.map((row) => [row.id, row.scheduled_for.getTime()]));
  });
  const rows: Row[] = [];
  let duplicates = 0;
  let missing = 0;
  let undelivered = 0;
  const perSlot: unknown[] = [];
  slots.forEach((slot, index) => {
    const label = `slot ${index + 1} (${new Date(slot).toISOString().slice(11, 16)})`;
    const slotRuns = fired.filter((run) => run.slot.getTime() === slot);
    const firing = summarize(slotRuns.filter((run) => run.firedAt !== null).map((run) => (run.firedAt as Date).getTime() - slot));
    const writtenTwice = slotRuns.reduce((sum, run) => sum + run.runs - 1, 0);
    // Evidence behind the firing figure: when the last run and job were written, and when a dispatcher first took one.
    const lastWritten = Math.max(...slotRuns.map((run) => run.writtenAt.getTime())) - slot;
    const firstStarted = Math.min(...slotRuns.map((run) => run.startedAt?.getTime() ?? Number.POSITIVE_INFINITY)) - slot;

    const lateness: number[] = [];
    const seen = new Map<string, number>();
    for (const [taskId, deliveries] of sink.deliveries) {
      if (!taskIds.has(taskId)) continue;
      for (const delivery of deliveries) {
        const scheduled = slotOf.get(delivery.executionId) ?? Math.floor(delivery.wallMs / minute) * minute;
        if (scheduled !== slot) continue;
        seen.set(taskId, (seen.get(taskId) ?? 0) + 1);
        if ((seen.get(taskId) ?? 0) === 1) lateness.push(delivery.wallMs - slot);
      }
    }
    const deliveredTwice = [...seen.values()].reduce((sum, times) => sum + times - 1, 0);
    const slotDuplicates = writtenTwice + deliveredTwice;
    const slotMissing = ids.length - firing.count;
    duplicates += slotDuplicates;
    missing += slotMissing;
    undelivered += ids.length - seen.size;
    const delivery = summarize(lateness);
    perSlot.push({
      slot: new Date(slot).toISOString(),
      firing,
      lastWrittenMs: lastWritten,
      firstStartedMs: firstStarted,
      delivery,
      duplicates: { written: writtenTwice, delivered: deliveredTwice },
      missing: slotMissing,
    });
    rows.push({ scenario, figure: `${label} fired p50`, value: firing.p50, unit: "ms" });
    rows.push({
      scenario,
      figure: `${label} fired p99`,
      value: firing.p99,
      unit: "ms",
      target: "≤ 1,000 ms",
      pass: firing.p99 === null ? false : firing.p99 <= 1000,
      note:
        `${firing.count}/${ids.length} fired (run and job written, due); max ${firing.max} ms; ` +
        `last written at slot ${lastWritten >= 0 ? "+" : ""}${lastWritten} ms; first started at slot +${firstStarted} ms`,
    });
    rows.push({
      scenario,
      figure: `${label} delivered p50 / p99`,
      value: delivery.p99,
      unit: "ms",
      note:
        `p50 ${delivery.p50} ms, p99 ${delivery.p99} ms, max ${delivery.max} ms, ${seen.size} of ${ids.length} delivered: ` +
        "slot to request at the sink, bound by dispatch throughput (scenario 3), not by the scheduler",
    });
  });
  context.details.cronLateness = { tasks: ids.length, perSlot };
  rows.push({ scenario, figure: "duplicate slots", value: duplicates, unit: "", target: "0", pass: duplicates === 0 });
  rows.push({ scenario, figure: "missed slots (not fired)", value: missing, unit: "", target: "0", pass: missing === 0 });
  rows.push({
    scenario,
    figure: "runs not delivered by the end",
    value: undelivered,
    unit: "",
    note: "fired runs still waiting for the dispatcher 30 s after the last slot (dispatch throughput)",
  });
  return rows;
}

// ---------------------------------------------------------------------------
// 7. Backlog scaling

export interface BacklogPoint {
  pending: number;
  /** The hot statements' plans with this backlog in, by statement. */
  plans: Record<string, PlanSummary>;
  pushPerSecond: number;
  executionsPerSecond: number | null;
  check: { expected: number; lost: number; duplicates: number };
}

/** Shortened 1 and 3 with `pending` delayed tasks already waiting (topped up from what the database holds). */
export async function backlogPoint(context: ScenarioContext, pending: number, makeSink: () => Promise<Sink>): Promise<BacklogPoint> {
  const { instance, sizes, log } = context;
  const databaseUrl = instance.database.url;
  const organization = await organizationId(databaseUrl);
  const waiting = await countTasks(databaseUrl, "status = 'SCHEDULED' AND run_at > now() + interval '10 minutes'");
  const seedSink = "http://127.0.0.1:9/never";
  if (pending > waiting) {
    log(`7. backlog ${pending.toLocaleString("en-US")}: seeding ${(pending - waiting).toLocaleString("en-US")} pending tasks`);
    const started = Date.now();
    await seedPendingTasks(databaseUrl, {
      count: pending - waiting,
      organizationId: organization,
      url: seedSink,
      runAt: new Date(Date.now() + 24 * 3600_000),
      log,
    });
    log(`   seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // "Already in the database": measured once the bulk load is digested, not while autovacuum and the checkpointer
    // work through it (a push rate of 0.56 of the 1e3 one right after seeding 890,000 tasks, 0.95 in the next run).
    const settled = Date.now();
    await withClient(databaseUrl, async (client) => {
      // pg-boss's job table too: seeding gave every execution a job.
      await client.query("VACUUM (ANALYZE) tasks, executions, pgboss.job");
      // Needs a superuser (or pg_checkpoint) where DATABASE_URL names another role: then left to the checkpointer.
      await client.query("CHECKPOINT").catch((error: unknown) => log(`   no CHECKPOINT: ${firstLine(error)}`));
    });
    log(`   vacuumed and checkpointed in ${((Date.now() - settled) / 1000).toFixed(1)} s`);
  }
  const plans = await explainHotQueries(databaseUrl);
  for (const [name, plan] of Object.entries(plans)) log(`   explain ${describePlan(name, plan)}`);
  const sink = await makeSink();
  try {
    const body = JSON.stringify({ url: `${sink.url}/s7-push`, delay: "1h" });
    const push = await cannonPush(instance.baseUrl, body, { connections: PUSH_CONNECTIONS, seconds: sizes.backlogPushSeconds });
    log(`   push: ${Math.round(push.requestsPerSecond)} req/s`);

    // A backlog of due tasks: pushed due a moment from now, all at once, with the worker running.
    await instance.waitForLimit();
    const probe = await probeBatchRoute(instance.api, `${sink.url}/probe`);
    const url = `${sink.url}/s7-dispatch`;
    const count = sizes.backlogDispatchTasks;
    const leadMs = 3000 + (probe.available ? count / 2 : count * 5);
    const due = new Date(Date.now() + leadMs);
    const succeededBefore = await countTasks(databaseUrl, "organization_id = $1 AND status = 'SUCCEEDED'", [organization]);
    const ids = await pushMany(
      instance.api,
      Array.from({ length: count }, () => ({ url, runAt: due.toISOString() })),
      { useBatch: probe.available, timeoutMs: 10 * 60_000 },
    );
    const measured = await measureDispatch(databaseUrl, sink, ids, {
      organizationId: organization,
      succeededBefore,
      timeoutMs: dispatchTimeoutMs(count) + leadMs,
    });
    log(
      `   dispatch: ${measured.executionsPerSecond === null ? "did not finish" : `${Math.round(measured.executionsPerSecond)} executions/s`}`,
    );
    return {
      pending,
      plans,
      pushPerSecond: push.requestsPerSecond,
      executionsPerSecond: measured.executionsPerSecond,
      check: measured.check,
    };
  } finally {
    await sink.close();
  }
}

export function backlogRows(points: BacklogPoint[]): Row[] {
  const scenario = "7 backlog scaling";
  const base = points[0];
  const largest = points.at(-1);
  if (!base || !largest) return [];
  const rows: Row[] = [];
  const label = (pending: number) => `1e${Math.round(Math.log10(pending))}`;
  for (const [figure, pick] of [
    ["push req/s", (point: BacklogPoint) => point.pushPerSecond],
    ["executions/s", (point: BacklogPoint) => point.executionsPerSecond],
  ] as const) {
    for (const point of points) {
      const isBase = point === base;
      const pointRatio = isBase ? null : ratio(pick(point), pick(base));
      const gated = point === largest && !isBase;
      rows.push({
        scenario,
        figure: `${figure} at ${label(point.pending)} pending`,
        value: pick(point),
        unit: "/s",
        ...(isBase ? {} : { baseline: pick(base), baselineLabel: `at ${label(base.pending)}`, ratio: pointRatio }),
        ...(gated ? { target: "ratio ≥ 0.8", pass: pointRatio === null ? false : pointRatio >= 0.8 } : {}),
      });
    }
  }
  rows.push(...planRows(scenario, base, largest, label));
  const lost = points.reduce((sum, point) => sum + point.check.lost, 0);
  const duplicates = points.reduce((sum, point) => sum + point.check.duplicates, 0);
  const expected = points.reduce((sum, point) => sum + point.check.expected, 0);
  rows.push(correctnessRow(scenario, { expected, lost, duplicates }));
  return rows;
}

/** Each hot statement's time at the largest backlog next to the smallest, and whether all of them used an index. */
function planRows(scenario: string, base: BacklogPoint, largest: BacklogPoint, label: (pending: number) => string): Row[] {
  const at = label(largest.pending);
  const totalMs = (plan: PlanSummary | undefined) => (plan ? plan.planningMs + plan.executionMs : null);
  const entries = Object.entries(largest.plans);
  const rows: Row[] = entries.map(([name, plan]) => {
    const before = largest === base ? undefined : base.plans[name];
    return {
      scenario,
      figure: `EXPLAIN ${name} at ${at}`,
      value: totalMs(plan),
      unit: "ms",
      ...(before
        ? { baseline: totalMs(before), baselineLabel: `at ${label(base.pending)}`, ratio: ratio(totalMs(plan), totalMs(before)) }
        : {}),
      note:
        `${plan.topNode}; ${plan.buffers.toLocaleString("en-US")} buffers` +
        (before ? ` (${before.buffers.toLocaleString("en-US")} at ${label(base.pending)})` : "") +
        `; indexes ${plan.indexes.join(", ") || "none"}`,
    };
  });
  const withoutIndex = entries.filter(([, plan]) => !usesIndex(plan)).map(([name]) => name);
  rows.push({
    scenario,
    figure: `hot statements on an index at ${at}`,
    value: entries.length - withoutIndex.length,
    unit: `of ${entries.length}`,
    note: `${withoutIndex.length ? `not: ${withoutIndex.join(", ")}` : "all"} (${USES_INDEX_RULE})`,
  });
  return rows;
}
