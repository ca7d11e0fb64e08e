/**
 * Starts Runlater in one of its roles: `server` (HTTP API), `worker`
 * (dispatcher) or `all` (both in one process). Used by bin/runlater.ts and by
 * tests that want a real instance.
 */
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { AlertMailer } from "../worker/alert-mailer.js";
import { CronScheduler } from "../worker/cron-scheduler.js";
import { Dispatcher } from "../worker/dispatcher.js";
import { MonitorChecker } from "../worker/monitor-checker.js";
import { RetentionSweeper } from "../worker/retention-sweeper.js";
import type { Config } from "./config.js";
import { createHttpServer } from "./http/server.js";
import type { Logger } from "./logger.js";
import { LiveEventHub } from "./realtime/live-event-hub.js";
import { type Role, type Runtime, startRuntime } from "./runtime.js";
import { bootstrapDefaultOrganization } from "./services/organizations.js";

export interface RunningInstance {
  runtime: Runtime;
  /** The API's base URL, when this instance serves HTTP. */
  url: string | null;
  /** Live events of this instance, when it serves HTTP. */
  live: LiveEventHub | null;
  /** The key created for the default organisation on this start, if one was. */
  bootstrapApiKey: string | null;
  stop(): Promise<void>;
}

export async function startRunlater(config: Config, logger: Logger, role: Role): Promise<RunningInstance> {
  const runtime = await startRuntime(config, logger, role);
  let server: http.Server | null = null;
  let live: LiveEventHub | null = null;
  let dispatcher: Dispatcher | null = null;
  let cronScheduler: CronScheduler | null = null;
  let monitorChecker: MonitorChecker | null = null;
  let retentionSweeper: RetentionSweeper | null = null;
  let alertMailer: AlertMailer | null = null;
  let bootstrapApiKey: string | null = null;
  try {
    if (role !== "worker") {
      ({ createdApiKey: bootstrapApiKey } = await bootstrapDefaultOrganization(runtime.pool, { bootstrapApiKey: config.bootstrapApiKey }));
      live = new LiveEventHub({
        databaseUrl: runtime.databaseUrl,
        pool: runtime.pool,
        logger,
        subscriberBufferSize: config.subscriptionBufferSize,
        recheckIntervalMs: config.subscriptionRecheckSeconds * 1000,
        apiKeys: runtime.apiKeys,
      });
      await live.start();
      server = createHttpServer(runtime, { live });
      await listen(server, config.port, config.host);
    }
    if (role !== "server") {
      dispatcher = new Dispatcher({
        pool: runtime.pool,
        boss: runtime.boss,
        logger,
        databaseUrl: runtime.databaseUrl,
        concurrency: config.workerConcurrency,
        heartbeatSeconds: config.jobHeartbeatSeconds,
        allowPrivateTargets: config.allowPrivateTargets,
        shutdownGraceMs: config.shutdownGraceMs,
        connectionsPerHost: config.connectionsPerHost,
        vacuumAfterSettled: config.vacuumAfterSettled,
      });
      await dispatcher.start();
      cronScheduler = new CronScheduler({ pool: runtime.pool, boss: runtime.boss, logger });
      cronScheduler.start();
      monitorChecker = new MonitorChecker({ pool: runtime.pool, boss: runtime.boss, logger });
      monitorChecker.start();
      retentionSweeper = new RetentionSweeper({ pool: runtime.pool, logger, historyRetentionDays: config.historyRetentionDays });
      retentionSweeper.start();
      if (config.smtpUrl) {
        alertMailer = new AlertMailer({
          pool: runtime.pool,
          logger,
          smtpUrl: config.smtpUrl,
          from: config.smtpFrom,
          emailsPerHour: config.alertEmailsPerHour,
        });
        alertMailer.start();
      }
    }
  } catch (error) {
    await server?.close();
    await live?.stop();
    await runtime.close();
    throw error;
  }

  const port = server ? (server.address() as AddressInfo).port : null;
  let stopping: Promise<void> | null = null;
  return {
    runtime,
    url: port === null ? null : `http://127.0.0.1:${port}`,
    live,
    bootstrapApiKey,
    stop: () => {
      stopping ??= (async () => {
        // Stop taking work first, then let what is in flight finish, then close the pools.
        const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
        server?.closeIdleConnections();
        await live?.stop();
        await cronScheduler?.stop();
        await monitorChecker?.stop();
        await retentionSweeper?.stop();
        await alertMailer?.stop();
        await dispatcher?.stop();
        server?.closeAllConnections();
        await closed;
        await runtime.close();
      })();
      return stopping;
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
