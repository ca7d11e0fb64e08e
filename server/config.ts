/**
 * Runlater's configuration: every environment variable it reads, parsed and
 * validated in one place. A bad value stops start-up with a message naming the
 * variable and the rule it broke. Nothing else reads `process.env`.
 */
import path from "node:path";
import { z } from "zod";

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .transform((value) => value === "true" || value === "1");

const integer = (min: number, max: number) =>
  z.coerce
    .number({ message: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

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
  /** Attempts one worker process runs at once. */
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
    logLevel: env.LOG_LEVEL,
  };
}
