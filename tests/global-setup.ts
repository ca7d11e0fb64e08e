// Runs once per `vitest` run, in the main process. Builds dist/ (what `npm start` runs: tests that start Runlater as
// separate processes run the current code as users do, tests/helpers/processes.ts), and prepares a template
// database holding everything a fresh Runlater database has (Prisma
// migrations, pg-boss schema); each test file clones it (tests/helpers/database.ts),
// which takes milliseconds where migrating takes seconds.
//
// The PostgreSQL server: TEST_DATABASE_URL, else DATABASE_URL (the role needs
// CREATEDB), else an embedded PostgreSQL in a fresh temporary directory.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PgBoss } from "pg-boss";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../server/db/embedded-postgres.js";
import { applyMigrations } from "../server/db/migrate.js";
import { withAdminClient, withDatabase } from "./helpers/database.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A database on the test server with CREATEDB rights; for creating and dropping databases. */
    adminDatabaseUrl: string;
    /** The migrated template database. Never connect to it: a connection blocks cloning. */
    templateDatabaseUrl: string;
  }
}

export default async function setupTestDatabaseServer(project: TestProject) {
  execFileSync(process.execPath, ["scripts/build-server.mjs"], { cwd: join(import.meta.dirname, ".."), stdio: "inherit" });
  const server = await startTestDatabaseServer();
  const templateName = `runlater_template_${randomBytes(6).toString("hex")}`;
  const templateDatabaseUrl = withDatabase(server.adminUrl, templateName);

  await withAdminClient(server.adminUrl, (admin) => admin.query(`CREATE DATABASE ${templateName}`));
  try {
    await applyMigrations(templateDatabaseUrl);
    await installPgBossSchema(templateDatabaseUrl);
    // Refusing connections from now on keeps the template cloneable.
    await withAdminClient(server.adminUrl, async (admin) => {
      await admin.query(`ALTER DATABASE ${templateName} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [
        templateName,
      ]);
    });
  } catch (error) {
    await dropTemplate(server.adminUrl, templateName);
    await server.stop();
    throw error;
  }

  project.provide("adminDatabaseUrl", server.adminUrl);
  project.provide("templateDatabaseUrl", templateDatabaseUrl);

  return async function teardownTestDatabaseServer() {
    await dropTemplate(server.adminUrl, templateName);
    await server.stop();
  };
}

async function startTestDatabaseServer(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const configuredUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (configuredUrl) return { adminUrl: configuredUrl, stop: async () => {} };

  // The fresh directory itself is the data directory: its parent (the system
  // temporary directory) stays reachable for PostgreSQL's unprivileged user.
  const dataDir = await mkdtemp(join(tmpdir(), "runlater-test-postgres-"));
  const embedded = await startEmbeddedPostgres({ dataDir });
  return {
    adminUrl: embedded.connectionString,
    async stop() {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function installPgBossSchema(connectionString: string): Promise<void> {
  const boss = new PgBoss({ connectionString, max: 1, supervise: false, schedule: false });
  let backgroundError: Error | undefined;
  boss.on("error", (error) => {
    backgroundError ??= error;
  });
  await boss.start();
  await boss.stop({ graceful: false });
  if (backgroundError) throw backgroundError;
}

async function dropTemplate(adminUrl: string, templateName: string): Promise<void> {
  await withAdminClient(adminUrl, async (admin) => {
    await admin.query(`ALTER DATABASE ${templateName} WITH IS_TEMPLATE false`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${templateName} WITH (FORCE)`);
  });
}
