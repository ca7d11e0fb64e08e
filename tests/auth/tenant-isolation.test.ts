/** alice and bob in two organisations: neither can see or touch the other's objects, on any route. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { createPersonas, graphql, type Persona, rest, startTestInstance } from "../helpers/runlater.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let instance: RunningInstance;
let alice: Persona;
let bob: Persona;
let bobsTaskId: string;
let bobsExecutionId: string;
let bobsApiKeyId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await startTestInstance(database.url);
  ({ alice, bob } = await createPersonas(database.url));
  const pushed = await rest(instance, bob.apiKey, "POST", "/tasks", {
    url: "https://example.com/bob",
    delay: "1h",
    name: "bob's secret task",
  });
  bobsTaskId = pushed.body.id as string;
  const executions = await rest<{ edges: Array<{ node: { id: string } }> }>(instance, bob.apiKey, "GET", `/tasks/${bobsTaskId}/executions`);
  bobsExecutionId = executions.body.edges[0]!.node.id;
  const keys = await graphql<{ apiKeys: Array<{ id: string }> }>(instance, bob.apiKey, "{ apiKeys { id } }");
  bobsApiKeyId = keys.data!.apiKeys[0]!.id;
});

afterAll(async () => {
  await instance?.stop();
  await database?.drop();
});

describe("REST isolation", () => {
  it.each([
    ["GET", () => `/tasks/${bobsTaskId}`],
    ["DELETE", () => `/tasks/${bobsTaskId}`],
    ["POST", () => `/tasks/${bobsTaskId}/trigger`],
    ["GET", () => `/tasks/${bobsTaskId}/executions`],
    ["GET", () => `/executions/${bobsExecutionId}`],
    ["DELETE", () => `/api-keys/${bobsApiKeyId}`],
  ])("alice gets 404 for %s %s on bob's object", async (method, path) => {
    const answer = await rest<{ error: { code: string; message: string } }>(instance, alice.apiKey, method, path());
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
    expect(JSON.stringify(answer.body)).not.toContain("bob's secret task");
  });

  it("lists only the caller's own tasks, keys and secrets", async () => {
    const tasks = await rest<{ edges: Array<{ node: { id: string } }> }>(instance, alice.apiKey, "GET", "/tasks");
    expect(tasks.body.edges.map((edge) => edge.node.id)).not.toContain(bobsTaskId);
    const keys = await rest<Array<{ id: string }>>(instance, alice.apiKey, "GET", "/api-keys");
    expect(keys.body.map((key) => key.id)).not.toContain(bobsApiKeyId);
    const alicesSecrets = await rest(instance, alice.apiKey, "GET", "/signing-secrets");
    const bobsSecrets = await rest(instance, bob.apiKey, "GET", "/signing-secrets");
    expect(alicesSecrets.body.current).not.toBe(bobsSecrets.body.current);
  });

  it("leaves bob's task untouched after alice's attempts", async () => {
    const task = await rest(instance, bob.apiKey, "GET", `/tasks/${bobsTaskId}`);
    expect(task.body).toMatchObject({ status: "SCHEDULED", attempts: 0 });
    const keys = await graphql<{ apiKeys: Array<{ revokedAt: string | null }> }>(instance, bob.apiKey, "{ apiKeys { revokedAt } }");
    expect(keys.data?.apiKeys.every((key) => key.revokedAt === null)).toBe(true);
  });
});

describe("GraphQL isolation", () => {
  it.each([
    ["task", () => `{ task(id: "${bobsTaskId}") { id name } }`],
    ["executions", () => `{ executions(taskId: "${bobsTaskId}") { edges { node { id } } } }`],
    ["execution", () => `{ execution(id: "${bobsExecutionId}") { id } }`],
    ["cancelTask", () => `mutation { cancelTask(id: "${bobsTaskId}") { id } }`],
    ["triggerTask", () => `mutation { triggerTask(id: "${bobsTaskId}") { id } }`],
    ["revokeApiKey", () => `mutation { revokeApiKey(id: "${bobsApiKeyId}") { id } }`],
  ])("alice gets NOT_FOUND for %s on bob's object", async (_name, query) => {
    const answer = await graphql(instance, alice.apiKey, query());
    expect(answer.data).toBeNull();
    expect(answer.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(JSON.stringify(answer)).not.toContain("bob's secret task");
  });

  it("never lists bob's tasks to alice, with or without filters", async () => {
    const answer = await graphql<{ tasks: { edges: Array<{ node: { id: string } }> } }>(
      instance,
      alice.apiKey,
      `{ all: tasks(first: 100) { edges { node { id } } } tasks(first: 100, filter: { status: SCHEDULED }) { edges { node { id } } } }`,
    );
    expect(JSON.stringify(answer.data)).not.toContain(bobsTaskId);
  });
});

describe("database isolation", () => {
  it("refuses an attempt filed under another organisation than its task's", async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    // Each insert is rolled back: the other tests see bob's task as it was.
    const copyRolledBack = async (organizationId: string) => {
      await client.query("BEGIN");
      try {
        return await client.query(
          `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for)
           SELECT gen_random_uuid(), $1, task_id, run, attempt + 1, 'PENDING', now() FROM executions WHERE id = $2`,
          [organizationId, bobsExecutionId],
        );
      } finally {
        await client.query("ROLLBACK");
      }
    };
    try {
      await expect(copyRolledBack(alice.organizationId)).rejects.toThrow(/executions_organization_id_task_id_fkey/);
      // The same row under the task's own organisation is accepted: only the mismatch was refused.
      expect((await copyRolledBack(bob.organizationId)).rowCount).toBe(1);
    } finally {
      await client.end();
    }
  });
});

describe("authentication", () => {
  it("answers 401 with a clear message without a key, with a wrong key, and with a revoked key", async () => {
    const missing = await rest<{ error: { code: string; message: string } }>(instance, null, "GET", "/tasks");
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(missing.body.error.message).toMatch(/Authorization: Bearer/);

    const wrong = await rest<{ error: { code: string; message: string } }>(instance, "rl_not_a_real_key", "GET", "/tasks");
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/invalid or revoked/);

    const graphQLMissing = await graphql(instance, null, "{ tasks { edges { node { id } } } }");
    expect(graphQLMissing.status).toBe(401);
    expect(graphQLMissing.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");

    const created = await graphql<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
      instance,
      alice.apiKey,
      `mutation { createApiKey(name: "ci") { secret apiKey { id prefix } } }`,
    );
    const { secret, apiKey } = created.data!.createApiKey;
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect((await rest(instance, secret, "GET", "/tasks")).status).toBe(200);
    const listed = await graphql<{ apiKeys: Array<{ id: string; lastUsedAt: string | null }> }>(
      instance,
      alice.apiKey,
      "{ apiKeys { id lastUsedAt } }",
    );
    expect(listed.data?.apiKeys.find((key) => key.id === apiKey.id)?.lastUsedAt).toBeTruthy();
    expect(JSON.stringify(listed)).not.toContain(secret);

    const revoked = await rest(instance, alice.apiKey, "DELETE", `/api-keys/${apiKey.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeTruthy();
    expect((await rest(instance, secret, "GET", "/tasks")).status).toBe(401);
  });

  it("serves the API description without a key", async () => {
    const openapi = await fetch(`${instance.url}/api/v1/openapi.json`);
    expect(openapi.status).toBe(200);
    const docs = await fetch(`${instance.url}/api/v1/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });
});
