import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, MIN_HISTORY_RETENTION_DAYS } from "../../server/config.js";
import { limits } from "../../server/services/task-input.js";

function problemsOf(environment: Record<string, string>): string[] {
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("has working defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, databaseUrl: undefined, allowPrivateTargets: true, workerConcurrency: 100 });
    expect(config.dataDir.endsWith(".runlater")).toBe(true);
  });

  it("refuses private targets by default in production only", () => {
    expect(loadConfig({ NODE_ENV: "production" }).allowPrivateTargets).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", RUNLATER_ALLOW_PRIVATE_TARGETS: "true" }).allowPrivateTargets).toBe(true);
    expect(loadConfig({ RUNLATER_ALLOW_PRIVATE_TARGETS: "false" }).allowPrivateTargets).toBe(false);
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DATABASE_URL: "mysql://localhost/db" }, "DATABASE_URL"],
    [{ NODE_ENV: "staging" }, "NODE_ENV"],
    [{ RUNLATER_ALLOW_PRIVATE_TARGETS: "yes please" }, "RUNLATER_ALLOW_PRIVATE_TARGETS"],
    [{ RUNLATER_WORKER_CONCURRENCY: "0" }, "RUNLATER_WORKER_CONCURRENCY"],
    [{ RUNLATER_CONNECTIONS_PER_HOST: "0" }, "RUNLATER_CONNECTIONS_PER_HOST"],
    [{ RUNLATER_BOOTSTRAP_API_KEY: "short" }, "RUNLATER_BOOTSTRAP_API_KEY"],
    [{ RUNLATER_JOB_HEARTBEAT_SECONDS: "5" }, "RUNLATER_JOB_HEARTBEAT_SECONDS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ RUNLATER_SIGNUP: "closed" }, "RUNLATER_SIGNUP"],
    [{ RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR: "-1" }, "RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR"],
    [{ RUNLATER_PUBLIC_URL: "runlater.example.com" }, "RUNLATER_PUBLIC_URL"],
    [{ RUNLATER_TRUST_PROXY: "maybe" }, "RUNLATER_TRUST_PROXY"],
    [{ RUNLATER_HISTORY_RETENTION_DAYS: "-1" }, "RUNLATER_HISTORY_RETENTION_DAYS"],
    [{ RUNLATER_HISTORY_RETENTION_DAYS: "a month" }, "RUNLATER_HISTORY_RETENTION_DAYS"],
    [{ RUNLATER_HISTORY_RETENTION_DAYS: "3" }, "RUNLATER_HISTORY_RETENTION_DAYS"],
  ])("names the variable in error: %o", (environment, variable) => {
    const problems = problemsOf(environment);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable} `));
  });

  it("reads the account settings, with sign-up open by default", () => {
    expect(loadConfig({})).toMatchObject({ signup: "open", signupsPerAddressPerHour: 20, publicUrl: undefined, trustProxy: false });
    expect(loadConfig({ RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR: "0" }).signupsPerAddressPerHour).toBe(0);
    expect(loadConfig({ RUNLATER_SIGNUP: "invite", RUNLATER_PUBLIC_URL: "https://runlater.example.com/" })).toMatchObject({
      signup: "invite",
      publicUrl: "https://runlater.example.com",
    });
  });

  it("keeps history 30 days by default; 0 keeps it for ever", () => {
    expect(loadConfig({}).historyRetentionDays).toBe(30);
    expect(loadConfig({ RUNLATER_HISTORY_RETENTION_DAYS: "0" }).historyRetentionDays).toBe(0);
    // Tasks outlive the longest dedupe or throttle window, which looks for them.
    expect(MIN_HISTORY_RETENTION_DAYS * 86_400_000).toBeGreaterThanOrEqual(limits.maxPolicyWindowMs);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", PORT: "" }).port).toBe(4000);
  });
});
