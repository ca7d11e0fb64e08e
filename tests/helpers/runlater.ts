/**
 * Real Runlater instances for tests: in-process (startTestInstance) against a
 * fresh database per test file, with personas alice and bob in two
 * organisations, and small REST/GraphQL clients.
 */
import { afterAll, beforeAll } from "vitest";
import { type RunningInstance, startRunlater } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { createPool } from "../../server/db/pool.js";
import { createLogger } from "../../server/logger.js";
import type { Role } from "../../server/runtime.js";
import { createApiKey } from "../../server/services/api-keys.js";
import { createOrganization } from "../../server/services/organizations.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { type Sink, type SinkHandler, startSink } from "./sink.js";

export const ALICE_KEY = "rl_alice_test_key_0123456789abcdefghijkl";

/** Environment for a test instance on `databaseUrl`; tests may override any variable. */
export function testEnvironment(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    DATABASE_URL: databaseUrl,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    RUNLATER_BOOTSTRAP_API_KEY: ALICE_KEY,
    RUNLATER_ALLOW_PRIVATE_TARGETS: "true",
    RUNLATER_JOB_HEARTBEAT_SECONDS: "10",
    RUNLATER_SUPERVISE_INTERVAL_SECONDS: "1",
    RUNLATER_SHUTDOWN_GRACE_SECONDS: "5",
    ...overrides,
  };
}

export async function startTestInstance(databaseUrl: string, options: { role?: Role; env?: Record<string, string> } = {}) {
  const config = loadConfig(testEnvironment(databaseUrl, options.env));
  const logger = createLogger({ level: config.logLevel });
  return startRunlater(config, logger, options.role ?? "all");
}

export interface Persona {
  name: string;
  organizationId: string;
  apiKey: string;
}

/** alice owns the default organisation (bootstrap key); bob gets an organisation of his own. */
export async function createPersonas(databaseUrl: string): Promise<{ alice: Persona; bob: Persona }> {
  const pool = createPool(databaseUrl, { max: 1, logger: createLogger({ level: "silent" }), name: "test-personas" });
  try {
    const { rows } = await pool.query<{ id: string }>("SELECT organization_id AS id FROM api_keys WHERE prefix = $1", [
      ALICE_KEY.slice(0, 11),
    ]);
    if (!rows[0]) throw new Error("start an instance before creating personas: alice's organisation is bootstrapped by it");
    const bobOrganization = await createOrganization(pool, { name: "Bob's company", slug: `bob-${Date.now()}` });
    const { secret } = await createApiKey(pool, bobOrganization.id, { name: "bob" });
    return {
      alice: { name: "alice", organizationId: rows[0].id, apiKey: ALICE_KEY },
      bob: { name: "bob", organizationId: bobOrganization.id, apiKey: secret },
    };
  } finally {
    await pool.end();
  }
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the REST API as `apiKey` (null: no Authorization header). */
export async function rest<T = Record<string, unknown>>(
  instance: Pick<RunningInstance, "url">,
  apiKey: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${instance.url}/api/v1${path}`, {
    method,
    headers: {
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
}

export interface GraphQLAnswer<T> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

export async function graphql<T = Record<string, unknown>>(
  instance: Pick<RunningInstance, "url">,
  apiKey: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(`${instance.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphQLAnswer<T>["errors"] };
  return { status: response.status, data: body.data ?? null, errors: body.errors };
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

export interface TestInstanceContext {
  database: TestDatabase;
  instance: RunningInstance;
  /** A loopback endpoint answering 200, or as `sink` scripts it. */
  sink: Sink;
}

/**
 * Registers hooks that give the test file its own database, a running
 * instance and a sink, and tear all three down afterwards. The returned
 * object is filled in before the first test runs.
 */
export function useTestInstance(options: { role?: Role; env?: Record<string, string>; sink?: SinkHandler } = {}): TestInstanceContext {
  const context = {} as TestInstanceContext;
  beforeAll(async () => {
    context.database = await createTestDatabase();
    context.instance = await startTestInstance(context.database.url, { role: options.role, env: options.env });
    context.sink = await startSink(options.sink);
  });
  afterAll(async () => {
    await context.sink?.close();
    await context.instance?.stop();
    await context.database?.drop();
  });
  return context;
}
