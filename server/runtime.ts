/**
 * The runtime: the long-lived dependencies every role shares (database pools,
 * Prisma, pg-boss), created once at start-up and closed once at shutdown.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PgBoss } from "pg-boss";
import type { Config } from "./config.js";
import { startEmbeddedPostgres } from "./db/embedded-postgres.js";
import { applyMigrations } from "./db/migrate.js";
import { createPool, type Pool } from "./db/pool.js";
import { PrismaClient } from "./generated/prisma/client.js";
import type { Logger } from "./logger.js";
import { ApiKeyCache } from "./services/api-key-cache.js";
import { ensureDispatchQueue } from "./services/dispatch-queue.js";
import { PushWriter } from "./services/push-writer.js";

export type Role = "all" | "server" | "worker";

export interface Services {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  pool: Pool;
  prisma: PrismaClient;
  boss: PgBoss;
  /** API keys this process has authenticated recently (api-key-cache.ts). */
  apiKeys: ApiKeyCache;
  /** Writes plain API pushes, those that arrive together in one statement (push-writer.ts). */
  pushWriter: PushWriter;
}

export interface Runtime extends Services {
  close(): Promise<void>;
}

/**
 * Resolves the database (external or embedded), migrates it, and opens the
 * pools. pg-boss supervision (recovering jobs of dead workers, maintenance)
 * runs in processes with the worker role.
 */
export async function startRuntime(config: Config, logger: Logger, role: Role): Promise<Runtime> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error) => logger.error({ err: error }, "shutdown step failed"));
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        log: (message) => logger.debug({ component: "embedded-postgres" }, message),
      });
      closers.push(() => embedded.stop());
      databaseUrl = embedded.connectionString;
      logger.info({ dataDir: config.dataDir }, "using embedded PostgreSQL (set DATABASE_URL to use your own)");
    }
    const { applied } = await applyMigrations(databaseUrl, { log: (message) => logger.info(message) });
    if (applied.length) logger.info({ applied }, "applied database migrations");

    const pool = createPool(databaseUrl, { max: config.dbPoolSize, logger, name: `runlater-${role}` });
    closers.push(() => pool.end());
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    closers.push(() => prisma.$disconnect());

    const runsWorker = role !== "server";
    const boss = new PgBoss({
      connectionString: databaseUrl,
      max: Math.max(2, Math.ceil(config.dbPoolSize / 2)),
      application_name: `runlater-${role}-pgboss`,
      supervise: runsWorker,
      superviseIntervalSeconds: config.superviseIntervalSeconds,
      // The monitor pass is what fails jobs whose heartbeat stopped (a crashed worker).
      monitorIntervalSeconds: config.superviseIntervalSeconds,
      schedule: false,
    });
    boss.on("error", (error) => logger.error({ err: error }, "pg-boss error"));
    boss.on("warning", (warning) => logger.warn({ warning }, "pg-boss warning"));
    await boss.start();
    closers.push(() => boss.stop({ graceful: false, close: true }));
    await ensureDispatchQueue(boss, { heartbeatSeconds: config.jobHeartbeatSeconds, ownsHeartbeat: runsWorker });

    const apiKeys = new ApiKeyCache({ ttlMs: config.apiKeyCacheMs });
    // Half the pool writes pushes at most; the other half stays free for reads and everything else.
    const pushWriter = new PushWriter(pool, Math.max(1, Math.floor(config.dbPoolSize / 2)));
    return { config, logger, databaseUrl, pool, prisma, boss, apiKeys, pushWriter, close };
  } catch (error) {
    await close();
    throw error;
  }
}
