/**
 * Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven
 * by playwright-core (never a downloaded browser), and the dashboard built
 * into a temporary directory so a test sees the code in the tree.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
const projectRoot = fileURLToPath(new URL("../..", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Playwright gives each launch a fresh, temporary profile.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface BuiltDashboard {
  directory: string;
  remove(): void;
}

/** Builds client/ with Vite into a fresh directory (serve it with RUNLATER_DASHBOARD_DIR). */
export async function buildDashboard(): Promise<BuiltDashboard> {
  const directory = mkdtempSync(path.join(tmpdir(), "runlater-dashboard-build-"));
  await promisify(execFile)(
    process.execPath,
    [
      path.join(projectRoot, "node_modules/vite/bin/vite.js"),
      "build",
      "--config",
      "client/vite.config.ts",
      "--outDir",
      directory,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    { cwd: projectRoot, timeout: 300_000 },
  );
  return { directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}
