import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { ALICE_KEY, createPersonas, graphql, type Persona, rest, startTestInstance } from "../helpers/runlater.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let instance: RunningInstance;
let bob: Persona;

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await startTestInstance(database.url);
  ({ bob } = await createPersonas(database.url));
});

afterAll(async () => {
  await instance?.stop();
  await database?.drop();
});

const push = (key: string, idempotencyKey: string, apiKey = ALICE_KEY) =>
  rest(
    instance,
    apiKey,
    "POST",
    "/tasks",
    { url: "https://example.com/once", delay: "1h", name: key },
    { "Idempotency-Key": idempotencyKey },
  );

describe("Idempotency-Key", () => {
  it("returns the first task for a repeated push and creates no second one", async () => {
    const first = await push("first", "order-42");
    const second = await push("second", "order-42");
    expect(first.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.name).toBe("first");
    const list = await graphql<{ tasks: { edges: unknown[] } }>(instance, ALICE_KEY, `{ tasks(first: 100) { edges { node { id } } } }`);
    expect(list.data?.tasks.edges).toHaveLength(1);
  });

  it("accepts the key as a GraphQL argument", async () => {
    const mutation = `mutation { pushTask(url: "https://example.com/gql", idempotencyKey: "gql-1") { id } }`;
    const first = await graphql<{ pushTask: { id: string } }>(instance, ALICE_KEY, mutation);
    const second = await graphql<{ pushTask: { id: string } }>(instance, ALICE_KEY, mutation);
    expect(second.data?.pushTask.id).toBe(first.data?.pushTask.id);
  });

  it("scopes keys to the organisation", async () => {
    const alices = await push("alice", "shared-key");
    const bobs = await push("bob", "shared-key", bob.apiKey);
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(alices.body.id);
  });

  it("creates a new task once the key is older than 24 hours", async () => {
    const first = await push("old", "expiring");
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'expiring'");
    await client.end();
    const second = await push("new", "expiring");
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
  });

  it("answers 409 while a request with the same key is still in flight", async () => {
    // Hold the key's lock from another connection, as an in-flight push of it does.
    const { organizationId } = (await createPersonas(database.url)).alice;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", [organizationId, "in-flight"]);
    const answer = await push("blocked", "in-flight");
    await client.query("ROLLBACK");
    await client.end();
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: { code: "IDEMPOTENCY_KEY_IN_USE", field: "idempotencyKey" } });
    const after = await push("unblocked", "in-flight");
    expect(after.status).toBe(201);
  });

  it("gives concurrent repeats one task between them (or 409 for those that overlap)", async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => push("race", "race-key")));
    const ids = new Set(answers.filter((answer) => answer.status === 201).map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
    expect(answers.every((answer) => answer.status === 201 || answer.status === 409)).toBe(true);
  });
});
