/**
 * `npm run bench` (full) and `npm run bench -- --quick` (smoke run, < 3 min):
 * the benchmark of issue 6. Starts Runlater as separate server and worker
 * processes on fresh databases (DATABASE_URL's server, or an embedded
 * PostgreSQL in a temporary directory), drives it over loopback HTTP, measures
 * each figure next to its raw baseline on the same database, prints one table
 * and writes bench/results/<ISO date>.json.
 *
 *   --quick          smaller sizes and shorter runs
 *   --only=1,3,7     run only these scenarios (9, memory, needs 1 and/or 3)
 *   --no-build       run dist/ as it is (the test suite's run: its global setup built dist/, which other test files
 *                    are running; a rebuild deletes it first)
 */
import { performance } from "node:perf_hooks";
import {
  type BenchPostgres,
  buildRunlater,
  Cleanup,
  createDatabase,
  RunlaterInstance,
  sleep,
  startPostgres,
  withTimeout,
} from "./harness.js";
import { startSink } from "./http.js";
import { REALTIME_FULL, REALTIME_QUICK, realtimeDelay } from "./realtime.js";
import { describeMachine, firstLine, type MachineInfo, type Row, renderMachine, renderTable, writeResults } from "./report.js";
import {
  type BacklogPoint,
  backlogPoint,
  backlogRows,
  batchPush,
  cronLateness,
  delayedLateness,
  dispatchLatency,
  dispatchThroughput,
  FULL,
  pushThroughput,
  QUICK,
  type ScenarioContext,
  type Sizes,
} from "./scenarios.js";

const CONCURRENCY_LIMIT = 1000;
const MEMORY_TARGET_MIB = 300;

interface Options {
  quick: boolean;
  only: Set<number> | null;
  build: boolean;
}

const USAGE = "usage: npm run bench [-- --quick] [--only=1,2,...] [--no-build]";

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, only: null, build: true };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-build") options.build = false;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg.includes("=") ? arg.slice("--only=".length) : (argv[++index] ?? "");
      options.only = new Set(value.split(",").map((part) => Number(part.trim())));
    } else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}; ${USAGE}`);
      process.exit(2);
    }
  }
  return options;
}

const startedAt = new Date();
const clock = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - clock) / 1000).toFixed(1).padStart(6)} s] ${message}`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const sizes: Sizes = options.quick ? QUICK : FULL;
  const wanted = (scenario: number) => options.only === null || options.only.has(scenario);
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      console.error("second signal: exiting without cleaning up");
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: stopping Runlater, dropping the bench databases and stopping PostgreSQL…`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A scenario abandoned after its time limit may still fail later: log it, do not crash past the cleanup.
  process.on("unhandledRejection", (error) => log(`ignored a late failure: ${(error as Error)?.message ?? error}`));

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const durations: Record<string, number> = {};
  const memory: Record<string, number | null> = {};
  let machine: MachineInfo | null = null;

  /** Runs one scenario; a failure becomes a row instead of ending the run. */
  const run = async (name: string, work: () => Promise<Row[]>, timeoutMs: number) => {
    const started = performance.now();
    try {
      rows.push(...(await withTimeout(work(), timeoutMs, name)));
    } catch (error) {
      log(`${name} failed: ${(error as Error).stack ?? error}`);
      rows.push({ scenario: name, figure: "error", value: null, unit: "", note: `failed: ${firstLine(error)}` });
    } finally {
      durations[name] = Math.round((performance.now() - started) / 100) / 10;
    }
  };

  try {
    log(`Runlater benchmark (${options.quick ? "quick" : "full"})`);
    if (options.build) buildRunlater();
    const postgres = await startPostgres(cleanup, log);
    machine = await describeMachine(postgres.adminUrl, postgres.embedded);
    console.log(renderMachine(machine));

    // Group A: pushes (1, 2) on a database of their own.
    if (wanted(1) || wanted(2)) {
      const instance = await startInstance(postgres, cleanup, "push", true);
      const context: ScenarioContext = { instance, cleanup, sizes, log, details };
      const sink = await startSink();
      try {
        if (wanted(1)) {
          await run("1 push throughput", () => pushThroughput(context, sink), 5 * 60_000);
          memory.serverDuringPush = (await instance.server?.peakRssMiB()) ?? null;
          memory.workerDuringPush = (await instance.worker?.peakRssMiB()) ?? null;
        }
        if (wanted(2)) await run("2 batch push", () => batchPush(context, sink), 10 * 60_000);
        noteConcurrencyLimit(rows, instance);
      } finally {
        await sink.close();
        await stopInstance(instance, details);
      }
    }

    // Group B: dispatch (3, 4, 5, 6) on a fresh database, the worker started once the backlog is in.
    if (wanted(3) || wanted(4) || wanted(5) || wanted(6)) {
      const instance = await startInstance(postgres, cleanup, "dispatch", false);
      const context: ScenarioContext = { instance, cleanup, sizes, log, details };
      try {
        if (wanted(3)) {
          await withSink((sink) => run("3 dispatch throughput", () => dispatchThroughput(context, sink), 45 * 60_000));
          memory.serverDuringDispatch = (await instance.server?.peakRssMiB()) ?? null;
          memory.workerDuringDispatch = (await instance.worker?.peakRssMiB()) ?? null;
        }
        await instance.startWorker();
        if (wanted(4)) await withSink((sink) => run("4 dispatch latency", () => dispatchLatency(context, sink), 5 * 60_000));
        if (wanted(5)) await withSink((sink) => run("5 delayed lateness", () => delayedLateness(context, sink), 5 * 60_000));
        if (wanted(6)) {
          await withSink((sink) => run("6 cron lateness", () => cronLateness(context, sink), (sizes.cronMinutes + 5) * 60_000));
        }
        noteConcurrencyLimit(rows, instance);
      } finally {
        await stopInstance(instance, details);
      }
    }

    // Group C: backlog scaling (7) on a fresh database, topped up from the smallest backlog to the largest.
    if (wanted(7)) {
      const instance = await startInstance(postgres, cleanup, "backlog", true);
      const context: ScenarioContext = { instance, cleanup, sizes, log, details };
      try {
        await run(
          "7 backlog scaling",
          async () => {
            const points: BacklogPoint[] = [];
            for (const pending of sizes.backlogSizes) points.push(await backlogPoint(context, pending, startSink));
            details.backlogScaling = points.map(({ plans: _plans, ...point }) => point);
            details.backlogExplain = Object.fromEntries(points.map((point) => [point.pending, point.plans]));
            return backlogRows(points);
          },
          60 * 60_000,
        );
        noteConcurrencyLimit(rows, instance);
      } finally {
        await stopInstance(instance, details);
      }
    }

    // Group D: realtime (8) on a fresh database: graphql-ws subscribers on the server, tasks on the worker.
    if (wanted(8)) {
      const instance = await startInstance(postgres, cleanup, "realtime", true);
      const context: ScenarioContext = { instance, cleanup, sizes, log, details };
      try {
        const realtimeSizes = options.quick ? REALTIME_QUICK : REALTIME_FULL;
        await withSink((sink) => run("8 realtime", () => realtimeDelay(context, sink, realtimeSizes), 10 * 60_000));
      } finally {
        await stopInstance(instance, details);
      }
    }
    if (wanted(9)) rows.push(...memoryRows(memory));
  } finally {
    await cleanup.runAll();
  }

  const table = renderTable(rows);
  console.log(`\n${table}\n`);
  const failed = rows.filter((row) => row.pass === false).length;
  const file = await writeResults(
    {
      startedAt: startedAt.toISOString(),
      mode: options.quick ? "quick" : "full",
      only: options.only ? [...options.only] : null,
      sizes,
      machine,
      rows,
      memoryMiB: memory,
      durationsSeconds: durations,
      totalSeconds: Math.round((performance.now() - clock) / 100) / 10,
      details,
    },
    startedAt,
  );
  log(`${rows.length} figures, ${failed} below target; results written to ${file}`);
  return 0;
}

async function startInstance(postgres: BenchPostgres, cleanup: Cleanup, label: string, worker: boolean): Promise<RunlaterInstance> {
  const database = await createDatabase(postgres, cleanup, label);
  log(`database ${database.name}: starting the Runlater server${worker ? " and worker" : ""}`);
  return RunlaterInstance.start(database, cleanup, { worker, concurrencyLimit: CONCURRENCY_LIMIT, log });
}

async function withSink(use: (sink: Awaited<ReturnType<typeof startSink>>) => Promise<void>): Promise<void> {
  const sink = await startSink();
  try {
    await use(sink);
  } finally {
    await sink.close();
  }
}

/** Stops the processes (keeping the end of their logs in the JSON) and drops the database. */
async function stopInstance(instance: RunlaterInstance, details: Record<string, unknown>): Promise<void> {
  await instance.stop();
  details.processLogs ??= {};
  const logs = details.processLogs as Record<string, unknown>;
  logs[instance.database.name] = {
    server: { exit: instance.server?.exitStatus(), tail: instance.server?.output().slice(-4000) },
    worker: instance.worker ? { exit: instance.worker.exitStatus(), tail: instance.worker.output().slice(-4000) } : null,
  };
  await instance.database.drop();
}

function noteConcurrencyLimit(rows: Row[], instance: RunlaterInstance): void {
  if (!instance.concurrencyLimitProblem) return;
  rows.push({
    scenario: "setup",
    figure: `concurrency limit ${CONCURRENCY_LIMIT}`,
    value: null,
    unit: "",
    note: `skipped: ${instance.concurrencyLimitProblem}`,
  });
}

function memoryRows(memory: Record<string, number | null>): Row[] {
  const peak = (...values: Array<number | null | undefined>) => {
    const known = values.filter((value): value is number => typeof value === "number");
    return known.length ? Math.max(...known) : null;
  };
  const rows: Row[] = [];
  for (const [role, values] of [
    ["server", [memory.serverDuringPush, memory.serverDuringDispatch]],
    ["worker", [memory.workerDuringPush, memory.workerDuringDispatch]],
  ] as const) {
    const value = peak(...values);
    rows.push({
      scenario: "9 memory",
      figure: `${role} peak RSS (VmHWM)`,
      value,
      unit: "MiB",
      target: `≤ ${MEMORY_TARGET_MIB} MiB`,
      pass: value === null ? null : value <= MEMORY_TARGET_MIB,
      ...(value === null ? { note: "not measured (needs scenarios 1 or 3)" } : {}),
    });
  }
  return rows;
}

main().then(
  async (code) => {
    await sleep(0);
    process.exit(code);
  },
  (error) => {
    console.error(`benchmark failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
