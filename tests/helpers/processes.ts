/**
 * Runlater as separate OS processes, for crash and multi-process tests: the
 * build `npm start` runs (dist/bin/runlater.js, built from the current source by
 * tests/global-setup.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Role } from "../../server/runtime.js";
import { testEnvironment } from "./runlater.js";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface RunlaterProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function spawnRunlater(role: Role, databaseUrl: string, env: Record<string, string> = {}): RunlaterProcess {
  // Node itself, not npm, so signals reach Runlater directly.
  const child = spawn(process.execPath, ["dist/bin/runlater.js", role], {
    cwd: projectRoot,
    env: { ...process.env, ...testEnvironment(databaseUrl, { LOG_LEVEL: "info", ...env }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners: Array<() => void> = [];
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return {
    child,
    output: () => output,
    exited,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        listeners.push(check);
        check();
      }),
  };
}
