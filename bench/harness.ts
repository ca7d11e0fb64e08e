/**
 * The benchmark's plumbing: bounded waits, a cleanup stack that always runs,
 * the database server (DATABASE_URL or an embedded PostgreSQL in a temporary
 * directory) and throw-away databases on it, Runlater itself as separate
 * `server` and `worker` processes started exactly as a user starts them (and
 * any other child process, stopped by the same cleanup), and the CPU they use.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startEmbeddedPostgres } from "../server/db/embedded-postgres.js";
import { ApiClient } from "./http.js";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BENCH_API_KEY = `rl_bench_${randomBytes(16).toString("hex")}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Polls `check` every `intervalMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(options.intervalMs ?? 100, deadline - Date.now()));
  }
}

/** Rejects when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Steps that undo what the run set up, run last-in first-out, each bounded in time, exactly once. */
export class Cleanup {
  private steps: Array<{ name: string; run: () => Promise<void> }> = [];
  private running: Promise<void> | null = null;

  add(name: string, run: () => Promise<void>): () => void {
    const step = { name, run };
    this.steps.push(step);
    return () => {
      this.steps = this.steps.filter((candidate) => candidate !== step);
    };
  }

  /** Runs one registered step now (and forgets it). */
  async runStep(remove: () => void, run: () => Promise<void>): Promise<void> {
    remove();
    await run();
  }

  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop();
        if (!step) break;
        try {
          await withTimeout(step.run(), 60_000, `cleanup step "${step.name}"`);
        } catch (error) {
          console.error(`cleanup: ${step.name} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

// ---------------------------------------------------------------------------
// PostgreSQL

export interface BenchPostgres {
  /** A URL on the server that may CREATE and DROP databases. */
  adminUrl: string;
  embedded: boolean;
}

/** DATABASE_URL's server, or an embedded PostgreSQL in a temporary directory that the cleanup stops and deletes. */
export async function startPostgres(cleanup: Cleanup, log: (message: string) => void): Promise<BenchPostgres> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const host = new URL(external).hostname;
    if (!isLoopback(host)) log(`note: DATABASE_URL points at ${host}; figures include the network to it`);
    return { adminUrl: external, embedded: false };
  }
  const parent = await mkdtemp(path.join(tmpdir(), "runlater-bench-"));
  // As root, PostgreSQL runs as "postgres", which must be able to enter the directory.
  await chmod(parent, 0o755);
  cleanup.add("delete the embedded PostgreSQL's directory", () => rm(parent, { recursive: true, force: true }));
  log(`starting an embedded PostgreSQL in ${parent}`);
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(parent, "data") });
  cleanup.add("stop the embedded PostgreSQL", () => embedded.stop());
  return { adminUrl: embedded.connectionString, embedded: true };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || host.startsWith("127.");
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the server; dropped by the cleanup (or earlier by `drop`). */
export async function createDatabase(postgres: BenchPostgres, cleanup: Cleanup, label: string): Promise<BenchDatabase> {
  const name = `runlater_bench_${label}_${randomBytes(4).toString("hex")}`;
  await withClient(postgres.adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(postgres.adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await closePool(url.toString());
    await withClient(postgres.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  const remove = cleanup.add(`drop database ${name}`, drop);
  return {
    name,
    url: url.toString(),
    drop: () => cleanup.runStep(remove, drop),
  };
}

const pools = new Map<string, pg.Pool>();

/** Runs a query on a small pool kept per database (polling loops must not open a connection per poll). */
export async function query<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  let pool = pools.get(url);
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 2, application_name: "runlater-bench" });
    pool.on("error", () => {});
    pools.set(url, pool);
  }
  return (await pool.query<R>(text, values)).rows;
}

async function closePool(url: string): Promise<void> {
  const pool = pools.get(url);
  pools.delete(url);
  await pool?.end().catch(() => {});
}

/**
 * Waits (up to `timeoutMs`) until no VACUUM runs on the server: a worker that has just drained a backlog vacuums the
 * tables it churned (worker/churn-vacuum.ts), and a baseline or a latency measured meanwhile would share the
 * machine with it. Gives the worker a moment to start first. Returns the seconds waited.
 */
export async function waitForVacuums(url: string, timeoutMs = 300_000): Promise<number> {
  const started = performance.now();
  await sleep(1000);
  const noneRunning = async () => {
    const [row] = await query<{ running: boolean }>(
      url,
      `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query ILIKE 'VACUUM%' AND pid <> pg_backend_pid()) AS running`,
    );
    return row?.running === false;
  };
  await waitUntil(noneRunning, { timeoutMs, intervalMs: 250 });
  return (performance.now() - started) / 1000;
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "runlater-bench" });
  client.on("error", () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function findFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

// ---------------------------------------------------------------------------
// Runlater processes

export type Role = "server" | "worker";

/** A child process of the benchmark, stopped by the cleanup (and killed if the benchmark dies). */
export interface ChildProcessHandle {
  pid: number;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** Exit code or signal once it exited, else null. */
  exitStatus(): number | string | null;
  /** Peak resident set size (VmHWM) in MiB so far, or null when it cannot be read. */
  peakRssMiB(): Promise<number | null>;
  /** Current resident set size (VmRSS) in MiB, or null when it cannot be read. */
  rssMiB(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** CPU time (user + system) it has used so far, in seconds, or null when it cannot be read. */
  cpuSeconds(): Promise<number | null>;
}

export interface RunlaterProcess extends ChildProcessHandle {
  role: Role;
}

const OUTPUT_KEPT = 64 * 1024;
const liveChildren = new Set<ChildProcess>();

/** Last resort when the harness itself dies: no Runlater process outlives it. */
process.on("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

/** BENCH_CPU_PROFILE_DIR: server and worker processes write a V8 CPU profile (`--cpu-prof`) there when they stop. */
const profileDir = process.env.BENCH_CPU_PROFILE_DIR;

/** Compiles dist/ from the current source: the processes run what `npm start` runs. */
export function buildRunlater(): void {
  execFileSync(process.execPath, ["scripts/build-server.mjs"], { cwd: projectRoot, stdio: "inherit" });
}

export function spawnRunlater(role: Role, env: Record<string, string>, cleanup: Cleanup): RunlaterProcess {
  const profiling = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}/${role}`] : [];
  const child = spawn(process.execPath, [...profiling, "dist/bin/runlater.js", role], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { role, ...superviseChild(child, `the Runlater ${role}`, cleanup) };
}

/** Keeps the end of a started child's output, and registers its stop with the cleanup. */
export function superviseChild(child: ChildProcess, label: string, cleanup: Cleanup): ChildProcessHandle {
  if (child.pid === undefined) throw new Error(`could not start ${label}`);
  const pid = child.pid;
  liveChildren.add(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let status: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on("exit", (code, signal) => {
      status = code ?? signal ?? "unknown";
      liveChildren.delete(child);
      resolve();
    }),
  );
  const stop = async (graceMs = 20_000) => {
    if (status !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const remove = cleanup.add(`stop ${label} (pid ${pid})`, () => stop());
  return {
    pid,
    output: () => output,
    exitStatus: () => status,
    peakRssMiB: () => readStatusMiB(pid, "VmHWM"),
    rssMiB: () => readStatusMiB(pid, "VmRSS"),
    stop: (graceMs) => cleanup.runStep(remove, () => stop(graceMs)),
    cpuSeconds: () => readCpuSeconds(pid),
  };
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of /proc/<pid>/stat (fields 14 and 15, counted after the parenthesised command name). */
async function readCpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU used during a measurement, in cores (1 = one core busy all along). */
export interface CpuShares {
  /** Each watched child process, by name (null when it cannot be read). */
  processes: Record<string, number | null>;
  /** This process: the load generator (autocannon runs in it). */
  loadGenerator: number;
  /** The whole machine, PostgreSQL included, out of `cores`. */
  machine: number;
  cores: number;
}

/** Runs `work` and measures the CPU used meanwhile by `processes`, by this process and by the machine. */
export async function measureCpu<T>(
  processes: Record<string, ChildProcessHandle | null | undefined>,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShares }> {
  const entries = Object.entries(processes);
  const readChildren = () => Promise.all(entries.map(([, child]) => child?.cpuSeconds() ?? null));
  const machineTimes = () => {
    const times = cpus().map((cpu) => cpu.times);
    const total = times.reduce((sum, time) => sum + time.user + time.nice + time.sys + time.idle + time.irq, 0);
    return { total, idle: times.reduce((sum, time) => sum + time.idle, 0), cores: times.length };
  };
  const childrenBefore = await readChildren();
  const ownBefore = process.cpuUsage();
  const machineBefore = machineTimes();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = machineTimes();
  const own = process.cpuUsage(ownBefore);
  const childrenAfter = await readChildren();
  const busyShare = 1 - (machineAfter.idle - machineBefore.idle) / Math.max(1, machineAfter.total - machineBefore.total);
  return {
    result,
    cpu: {
      processes: Object.fromEntries(
        entries.map(([name], index) => {
          const before = childrenBefore[index];
          const after = childrenAfter[index];
          return [name, before == null || after == null ? null : (after - before) / seconds];
        }),
      ),
      loadGenerator: (own.user + own.system) / 1e6 / seconds,
      machine: busyShare * machineAfter.cores,
      cores: machineAfter.cores,
    },
  };
}

async function readStatusMiB(pid: number, field: "VmHWM" | "VmRSS"): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1];
    return kib ? Number(kib) / 1024 : null;
  } catch {
    return null;
  }
}

export interface InstanceOptions {
  /** Start the worker now (else call startWorker later). */
  worker: boolean;
  /** Raise the organisation's concurrency limit before the worker starts. */
  concurrencyLimit?: number;
  log: (message: string) => void;
}

/** A Runlater deployment on one database: one server and (when started) one worker process. */
export class RunlaterInstance {
  server: RunlaterProcess | null = null;
  worker: RunlaterProcess | null = null;
  /** Why the concurrency limit could not be raised, if it could not. */
  concurrencyLimitProblem: string | null = null;
  private limitSetAt: number | null = null;
  private workerReadyAt: number | null = null;
  readonly api: ApiClient;

  private constructor(
    readonly database: BenchDatabase,
    readonly port: number,
    private readonly cleanup: Cleanup,
    private readonly log: (message: string) => void,
  ) {
    this.api = new ApiClient(`http://127.0.0.1:${port}`, BENCH_API_KEY);
  }

  static async start(database: BenchDatabase, cleanup: Cleanup, options: InstanceOptions): Promise<RunlaterInstance> {
    const instance = new RunlaterInstance(database, await findFreePort(), cleanup, options.log);
    // Both at once: start-up (tsx, migrations) is most of the wait.
    const server = instance.startServer();
    const worker = options.worker ? instance.startWorker() : Promise.resolve();
    try {
      await server;
      if (options.concurrencyLimit !== undefined) await instance.setConcurrencyLimit(options.concurrencyLimit);
    } finally {
      await worker;
    }
    return instance;
  }

  get baseUrl(): string {
    return this.api.baseUrl;
  }

  private environment(): Record<string, string> {
    return {
      DATABASE_URL: this.database.url,
      PORT: String(this.port),
      HOST: "127.0.0.1",
      RUNLATER_BOOTSTRAP_API_KEY: BENCH_API_KEY,
      RUNLATER_ALLOW_PRIVATE_TARGETS: "true",
      LOG_LEVEL: "warn",
    };
  }

  private async startServer(): Promise<void> {
    const server = spawnRunlater("server", this.environment(), this.cleanup);
    this.server = server;
    const healthy = await waitUntil(
      async () => {
        if (server.exitStatus() !== null) throw new Error(`the server exited (${server.exitStatus()}):\n${server.output()}`);
        return (await this.api.health()) === 200;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    if (!healthy) throw new Error(`the server did not answer GET /health with 200 within 90 s:\n${server.output()}`);
  }

  async startWorker(): Promise<void> {
    if (this.worker && this.worker.exitStatus() === null) return;
    const worker = spawnRunlater("worker", this.environment(), this.cleanup);
    this.worker = worker;
    // The worker has no HTTP port: it is ready once its dispatcher LISTENs for wake-ups.
    const ready = await waitUntil(
      async () => {
        if (worker.exitStatus() !== null) throw new Error(`the worker exited (${worker.exitStatus()}):\n${worker.output()}`);
        const rows = await query<{ listening: boolean }>(
          this.database.url,
          `SELECT count(*) FILTER (WHERE query ILIKE 'LISTEN%') > 0
              AND count(*) FILTER (WHERE application_name LIKE 'runlater-worker%') > 0 AS listening
           FROM pg_stat_activity WHERE datname = current_database()`,
        );
        return rows[0]?.listening === true;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    if (!ready) this.log("warning: could not confirm that the worker is listening after 90 s; going on");
    this.workerReadyAt = Date.now();
  }

  /**
   * Waits until the worker applies the raised concurrency limit: at once if it
   * started after the limit was set, else once it re-reads limits (every 10 s).
   */
  async waitForLimit(): Promise<void> {
    if (this.limitSetAt === null || this.workerReadyAt === null) return;
    const appliedAt =
      this.workerReadyAt > this.limitSetAt + 1000 ? this.workerReadyAt : Math.max(this.workerReadyAt, this.limitSetAt) + 10_500;
    await sleep(appliedAt - Date.now());
  }

  async stopWorker(): Promise<void> {
    await this.worker?.stop();
  }

  /** Raises the organisation's limit; on failure records why, so the report can say so. */
  private async setConcurrencyLimit(limit: number): Promise<void> {
    const answer = await this.api.graphql(`mutation { setConcurrencyLimit(limit: ${limit}) { concurrencyLimit } }`);
    const value = (answer.body as { data?: { setConcurrencyLimit?: { concurrencyLimit?: number } } })?.data?.setConcurrencyLimit
      ?.concurrencyLimit;
    if (answer.status === 200 && value === limit) {
      this.limitSetAt = Date.now();
      return;
    }
    this.concurrencyLimitProblem = `setConcurrencyLimit unavailable (HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}); the default limit applies`;
    this.log(`warning: ${this.concurrencyLimitProblem}`);
  }

  async stop(): Promise<void> {
    await Promise.all([this.worker?.stop(), this.server?.stop()]);
    await this.api.close();
  }
}
