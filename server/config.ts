/**
 * Runlater's configuration: every environment variable it reads, parsed and
 * validated in one place. A bad value stops start-up with a message naming the
 * variable and the rule it broke. Nothing else reads `process.env`.
 */
import path from "node:path";
import { z } from "zod";
import { projectPath } from "./project-root.js";

/** Where `npm run build:client` writes the dashboard, whatever the working directory. */
const BUILT_DASHBOARD_DIR = projectPath("client", "dist");

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .transform((value) => value === "true" || value === "1");

const integer = (min: number, max: number) =>
  z.coerce
    .number({ message: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * The shortest history retention but 0 (keep everything): dedupe and throttle windows (at most 7 days,
 * task-input.ts's maxPolicyWindowMs) look for the tasks pushed within them, so tasks must outlive the longest window.
 */
export const MIN_HISTORY_RETENTION_DAYS = 7;

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), "must be a postgres:// or postgresql:// URL");

const environmentSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integer(0, 65535).default(4000),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** External PostgreSQL. Unset: an embedded PostgreSQL is started in RUNLATER_DATA_DIR. */
  DATABASE_URL: postgresUrl.optional(),
  RUNLATER_DATA_DIR: z.string().min(1).default(".runlater"),
  /** Registered as the default organisation's key on first start, instead of a random one. */
  RUNLATER_BOOTSTRAP_API_KEY: z.string().min(24, "must be at least 24 characters").optional(),
  /** Defaults to true unless NODE_ENV=production. */
  RUNLATER_ALLOW_PRIVATE_TARGETS: booleanFlag.optional(),
  /** How long the previous signing secret stays valid after a rotation. */
  RUNLATER_SIGNING_SECRET_GRACE_HOURS: integer(0, 24 * 30).default(24),
  /** HTTP attempts one worker process runs at once (as many more may be being claimed, and as many settled). */
  RUNLATER_WORKER_CONCURRENCY: integer(1, 10_000).default(100),
  /** Most keep-alive connections one worker process opens to one target origin (host and port). */
  RUNLATER_CONNECTIONS_PER_HOST: integer(1, 1000).default(32),
  /** Seconds a graceful shutdown waits for in-flight attempts before aborting them. */
  RUNLATER_SHUTDOWN_GRACE_SECONDS: integer(0, 600).default(30),
  /** Seconds without a heartbeat after which a running attempt counts as lost (worker crashed). */
  RUNLATER_JOB_HEARTBEAT_SECONDS: integer(10, 3600).default(30),
  /** How often lost attempts are looked for, in seconds. */
  RUNLATER_SUPERVISE_INTERVAL_SECONDS: integer(1, 3600).default(10),
  RUNLATER_DB_POOL_SIZE: integer(1, 1000).default(10),
  /**
   * Attempts a worker settles before, once it has caught up with what is due, it vacuums the tables they churned
   * (pg-boss's dispatch jobs, executions, tasks). 0: leave it to autovacuum.
   */
  RUNLATER_VACUUM_AFTER_SETTLED: integer(0, 100_000_000).default(10_000),
  /** Days finished attempts (and tasks that are over) are kept; 0: kept for ever (see history-retention.ts). */
  RUNLATER_HISTORY_RETENTION_DAYS: integer(0, 36_500)
    .refine(
      // Only 1–6 here: what is not a whole number of at least 0 is reported by integer().
      (days) => !(days > 0 && days < MIN_HISTORY_RETENTION_DAYS),
      `must be 0 (keep everything) or at least ${MIN_HISTORY_RETENTION_DAYS}: dedupe and throttle windows last up to 7 days`,
    )
    .default(30),
  /** The built dashboard served at `/`. */
  RUNLATER_DASHBOARD_DIR: z.string().min(1).optional(),
  /**
   * Seconds an authenticated API key is remembered, so requests cost no key lookup. Revocations reach every server
   * process at once (a notification); this bounds only what a missed notification lets through. 0: look up every time.
   */
  RUNLATER_API_KEY_CACHE_SECONDS: integer(0, 60).default(5),
  /** `open`: anyone may sign up (getting an organisation of their own); `invite`: only with an invite (except the first account). */
  RUNLATER_SIGNUP: z.enum(["open", "invite"], { message: "must be open or invite" }).default("open"),
  /** Sign-up attempts (successful or not) one client address may make per hour; each costs a memory-hard hash. 0: no bound. */
  RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR: integer(0, 1_000_000).default(20),
  /** The address users reach Runlater at; invite links start with it. Unset: taken from the request's Host header. */
  RUNLATER_PUBLIC_URL: z
    .url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" })
    .transform((value) => value.replace(/\/+$/, ""))
    .optional(),
  /** Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry (login throttling counts by it). */
  RUNLATER_TRUST_PROXY: booleanFlag.default(false),
  /**
   * Events a live subscription may fall behind by before its WebSocket connection is closed (1013). One batch
   * push of 1,000 tasks is 1,000 events at once for an unfiltered subscriber; buffered events are shared objects.
   */
  RUNLATER_SUBSCRIPTION_BUFFER: integer(10, 1_000_000).default(10_000),
  /** How often live connections' credentials are checked again (revocations are also acted on at once). */
  RUNLATER_SUBSCRIPTION_RECHECK_SECONDS: integer(1, 3600).default(60),
  /** SMTP server for email alerts: smtp://user:password@host:587 or smtps://…:465. Unset: no email channels. */
  RUNLATER_SMTP_URL: z
    .string()
    .refine((value) => /^smtps?:\/\/[^/]+/.test(value), "must be an smtp:// or smtps:// URL")
    .optional(),
  /** The From address of alert emails. */
  RUNLATER_SMTP_FROM: z.string().min(3).default("Runlater <alerts@localhost>"),
  /** Alert emails per organisation per hour; beyond it, alerts are held and sent as one digest. */
  RUNLATER_ALERT_EMAILS_PER_HOUR: integer(1, 10_000).default(10),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config {
  env: Environment["NODE_ENV"];
  isProduction: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  bootstrapApiKey: string | undefined;
  allowPrivateTargets: boolean;
  signingSecretGraceMs: number;
  workerConcurrency: number;
  connectionsPerHost: number;
  shutdownGraceMs: number;
  jobHeartbeatSeconds: number;
  superviseIntervalSeconds: number;
  dbPoolSize: number;
  /** 0: never (see RUNLATER_VACUUM_AFTER_SETTLED). */
  vacuumAfterSettled: number;
  /** 0: never delete (see RUNLATER_HISTORY_RETENTION_DAYS). */
  historyRetentionDays: number;
  dashboardDir: string;
  apiKeyCacheMs: number;
  signup: Environment["RUNLATER_SIGNUP"];
  /** 0: no bound (see RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR). */
  signupsPerAddressPerHour: number;
  publicUrl: string | undefined;
  trustProxy: boolean;
  subscriptionBufferSize: number;
  subscriptionRecheckSeconds: number;
  smtpUrl: string | undefined;
  smtpFrom: string;
  alertEmailsPerHour: number;
  logLevel: Environment["LOG_LEVEL"];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses a set of environment variables (process.env by default) into a Config, or throws ConfigError. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as most shells and .env files intend.
  const defined = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = environmentSchema.safeParse(defined);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  }
  const env = parsed.data;
  const isProduction = env.NODE_ENV === "production";
  return {
    env: env.NODE_ENV,
    isProduction,
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: path.resolve(env.RUNLATER_DATA_DIR),
    bootstrapApiKey: env.RUNLATER_BOOTSTRAP_API_KEY,
    allowPrivateTargets: env.RUNLATER_ALLOW_PRIVATE_TARGETS ?? !isProduction,
    signingSecretGraceMs: env.RUNLATER_SIGNING_SECRET_GRACE_HOURS * 3_600_000,
    workerConcurrency: env.RUNLATER_WORKER_CONCURRENCY,
    connectionsPerHost: env.RUNLATER_CONNECTIONS_PER_HOST,
    shutdownGraceMs: env.RUNLATER_SHUTDOWN_GRACE_SECONDS * 1000,
    jobHeartbeatSeconds: env.RUNLATER_JOB_HEARTBEAT_SECONDS,
    superviseIntervalSeconds: env.RUNLATER_SUPERVISE_INTERVAL_SECONDS,
    dbPoolSize: env.RUNLATER_DB_POOL_SIZE,
    vacuumAfterSettled: env.RUNLATER_VACUUM_AFTER_SETTLED,
    historyRetentionDays: env.RUNLATER_HISTORY_RETENTION_DAYS,
    dashboardDir: env.RUNLATER_DASHBOARD_DIR ? path.resolve(env.RUNLATER_DASHBOARD_DIR) : BUILT_DASHBOARD_DIR,
    apiKeyCacheMs: env.RUNLATER_API_KEY_CACHE_SECONDS * 1000,
    signup: env.RUNLATER_SIGNUP,
    signupsPerAddressPerHour: env.RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR,
    publicUrl: env.RUNLATER_PUBLIC_URL,
    trustProxy: env.RUNLATER_TRUST_PROXY,
    subscriptionBufferSize: env.RUNLATER_SUBSCRIPTION_BUFFER,
    subscriptionRecheckSeconds: env.RUNLATER_SUBSCRIPTION_RECHECK_SECONDS,
    smtpUrl: env.RUNLATER_SMTP_URL,
    smtpFrom: env.RUNLATER_SMTP_FROM,
    alertEmailsPerHour: env.RUNLATER_ALERT_EMAILS_PER_HOUR,
    logLevel: env.LOG_LEVEL,
  };
}
