/**
 * What scenario 1's push rate is bounded by on this machine: the same load
 * (connections, duration, request body and headers) against a minimal node:http
 * server in a process of its own, bare, then with one INSERT per request (see
 * ceiling-server.ts). Runlater's rate divided by these says how close it got.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { prepareBenchTable } from "./baselines.js";
import type { CannedAnswer, CeilingMode } from "./ceiling-server.js";
import { type ChildProcessHandle, type Cleanup, type CpuShares, findFreePort, projectRoot, superviseChild, waitUntil } from "./harness.js";
import type { ApiClient, RawApiAnswer } from "./http.js";
import { firstLine } from "./report.js";
import { type CannonResult, type LoadSettings, measurePushLoad } from "./workload.js";

/** The load generator's figures for Runlater's push route, measured against a ceiling server instead. */
export interface CeilingMeasurement extends Omit<CannonResult, "ids" | "durationSeconds"> {
  mode: CeilingMode;
  cpu: CpuShares;
}

export type CeilingOutcome = CeilingMeasurement | { mode: CeilingMode; error: string };

const CEILING_MODES: CeilingMode[] = ["bare", "insert", "stack"];

/**
 * Captures Runlater's answer to one real push of `load.body`, then measures every
 * ceiling (CEILING_MODES) with it. A failure becomes that ceiling's `error`, not the scenario's.
 */
export async function measureHttpCeilings(
  api: ApiClient,
  options: { databaseUrl: string; organizationId: string; load: LoadSettings; cleanup: Cleanup; log: (message: string) => void },
): Promise<{ answer: { bytes: number; headers: CannedAnswer["headers"] } | null; ceilings: CeilingOutcome[] }> {
  let answer: CannedAnswer;
  try {
    answer = await captureAnswer(api, options.load.body);
    await prepareBenchTable(options.databaseUrl);
  } catch (error) {
    return { answer: null, ceilings: CEILING_MODES.map((mode) => ({ mode, error: firstLine(error) })) };
  }
  const ceilings: CeilingOutcome[] = [];
  for (const mode of CEILING_MODES) {
    try {
      const measured = await measureCeiling(mode, { ...options, answer });
      options.log(`   ceiling (${mode}): ${Math.round(measured.requestsPerSecond)} req/s; ${describeCpu(measured.cpu)}`);
      ceilings.push(measured);
    } catch (error) {
      options.log(`   ceiling (${mode}) failed: ${(error as Error).stack ?? error}`);
      ceilings.push({ mode, error: firstLine(error) });
    }
  }
  return { answer: { bytes: Buffer.from(answer.bodyBase64, "base64").length, headers: answer.headers }, ceilings };
}

/** Headers node:http writes itself: replaying them would duplicate or contradict its own. */
const WRITTEN_BY_NODE = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

/** Runlater's answer to a push, to be replayed byte for byte (its date and framing headers aside). */
function cannedAnswer(answer: RawApiAnswer): CannedAnswer {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && !WRITTEN_BY_NODE.has(name)) headers[name] = value;
  }
  return { status: answer.status, headers, bodyBase64: answer.bytes.toString("base64") };
}

/** Starts a ceiling server, drives it with `load`, stops it (the cleanup stops it on errors and signals). */
async function measureCeiling(
  mode: CeilingMode,
  options: { answer: CannedAnswer; databaseUrl: string; organizationId: string; load: LoadSettings; cleanup: Cleanup },
): Promise<CeilingMeasurement> {
  const ceiling = await startCeilingServer(mode, options);
  try {
    const { result, cpu } = await measurePushLoad(ceiling.url, { "ceiling server": ceiling.process }, options.load);
    const { ids: _ids, durationSeconds: _seconds, ...figures } = result;
    return { mode, ...figures, cpu };
  } finally {
    await ceiling.stop();
  }
}

/**
 * A ceiling server (ceiling-server.ts) in a process of its own, answering once
 * it listens. `answer` is a real push's answer: replayed by bare and insert,
 * the task template of stack.
 */
export async function startCeilingServer(
  mode: CeilingMode,
  options: { answer: CannedAnswer; databaseUrl: string; organizationId: string; cleanup: Cleanup },
): Promise<{ url: string; process: ChildProcessHandle; stop: () => Promise<void> }> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join("bench", "ceiling-server.ts")], {
    cwd: projectRoot,
    env: {
      ...process.env,
      CEILING_PORT: String(port),
      CEILING_MODE: mode,
      CEILING_ANSWER: JSON.stringify(options.answer),
      DATABASE_URL: options.databaseUrl,
      CEILING_ORGANIZATION_ID: options.organizationId,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const server = superviseChild(child, `the ${mode} HTTP ceiling server`, options.cleanup);
  const stop = () => server.stop(5000);
  try {
    const listening = await waitUntil(
      () => {
        if (server.exitStatus() !== null)
          throw new Error(`the ${mode} ceiling server exited (${server.exitStatus()}):\n${server.output()}`);
        return server.output().includes("listening");
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    if (!listening) throw new Error(`the ${mode} ceiling server did not start within 30 s:\n${server.output()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, process: server, stop };
}

/** Runlater's answer to one real push of `body`, to be replayed by a ceiling server. */
export async function captureAnswer(api: ApiClient, body: string): Promise<CannedAnswer> {
  const real = await api.requestRaw("POST", "/api/v1/tasks", body);
  if (real.status !== 201) throw new Error(`capturing a real push answer: HTTP ${real.status} ${real.bytes.toString().slice(0, 200)}`);
  return cannedAnswer(real);
}

/** "CPU (cores): ceiling server 0.83, load generator 0.89, rest 0.19; machine 1.91 of 2" over the measured run. */
export function describeCpu(cpu: CpuShares): string {
  const known = Object.values(cpu.processes).reduce<number>((sum, cores) => sum + (cores ?? 0), cpu.loadGenerator);
  const processes = Object.entries(cpu.processes).map(([name, cores]) => `${name} ${cores === null ? "?" : cores.toFixed(2)}`);
  return (
    `CPU (cores): ${[...processes, `load generator ${cpu.loadGenerator.toFixed(2)}`].join(", ")}, ` +
    `rest (PostgreSQL…) ${Math.max(0, cpu.machine - known).toFixed(2)}; machine ${cpu.machine.toFixed(2)} of ${cpu.cores}`
  );
}
