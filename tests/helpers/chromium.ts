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
import { type Browser, chromium, type Page } from "playwright-core";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { startTestInstance } from "./runlater.js";

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

export interface DashboardSession {
  instance: RunningInstance;
  database: TestDatabase;
  browser: Browser;
  /** One page at 1360×900, failing a step that waits longer than 20 s with Playwright's description of what it waited for. */
  page: Page;
  /** Closes the browser, stops Runlater, drops the database and removes the build. */
  close(): Promise<void>;
}

/** A fresh database, Runlater (server + worker) serving the dashboard built from the tree, and headless Chromium on it. */
export async function openDashboard(): Promise<DashboardSession> {
  const [dashboard, database] = await Promise.all([buildDashboard(), createTestDatabase()]);
  const instance = await startTestInstance(database.url, { env: { RUNLATER_DASHBOARD_DIR: dashboard.directory } });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  // Under the test's own timeout, so a missing element fails with Playwright's description of it.
  page.setDefaultTimeout(20_000);
  return {
    instance,
    database,
    browser,
    page,
    close: async () => {
      await browser.close();
      await instance.stop();
      await database.drop();
      dashboard.remove();
    },
  };
}
