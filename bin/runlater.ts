/**
 * Runlater's entry point.
 *   runlater all      server and worker in one process (npm start)
 *   runlater server   the HTTP API only (npm run start:server)
 *   runlater worker   the dispatcher only (npm run start:worker)
 */
import v8 from "node:v8";
import { startRunlater } from "../server/app.js";
import { ConfigError, loadConfig } from "../server/config.js";
import { createLogger } from "../server/logger.js";
import type { Role } from "../server/runtime.js";

const ROLES: readonly Role[] = ["all", "server", "worker"];

/**
 * V8 lets the old generation grow to up to 4x what survived the last full
 * collection when a process allocates fast (as a busy API does with short-lived
 * request objects): under a push load the server's RSS reached ~420 MiB, mostly
 * garbage. At most 1.5x: ~270 MiB at the same throughput (2x: ~310 MiB;
 * measured with `npm run bench -- --only=1`). Read by V8 at each collection,
 * so it applies when set here; --heap-growing-percent given to node wins.
 */
const HEAP_GROWING_PERCENT = 50;
if (!process.execArgv.some((option) => option.includes("heap-growing-percent"))) {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

async function main(): Promise<void> {
  const role = (process.argv[2] ?? "all") as Role;
  if (!ROLES.includes(role)) {
    console.error(`Unknown role "${role}". Use one of: ${ROLES.join(", ")}.`);
    process.exit(2);
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, name: `runlater-${role}` });
  const instance = await startRunlater(config, logger, role);

  if (instance.bootstrapApiKey && !config.bootstrapApiKey) {
    // Shown once: only its hash is stored.
    process.stdout.write(
      `\n  Runlater created your organisation's first API key (it will not be shown again):\n\n    ${instance.bootstrapApiKey}\n\n`,
    );
  }
  if (instance.url) logger.info({ url: `http://localhost:${config.port}`, graphql: "/graphql", rest: "/api/v1" }, "Runlater is listening");
  if (role !== "server") logger.info({ concurrency: config.workerConcurrency }, "worker is dispatching");

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn("second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down gracefully");
    instance.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error) => {
  console.error("Runlater failed to start:", error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
