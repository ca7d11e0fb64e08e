/**
 * Server processes remember authenticated API keys for a few seconds
 * (RUNLATER_API_KEY_CACHE_SECONDS); a revoked key must still be refused
 * promptly by every one of them, whoever revoked it.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { ALICE_KEY, eventually, graphql, rest, startTestInstance } from "../helpers/runlater.js";

/** Notifications take milliseconds; the margin is for a loaded machine. The keys would be remembered for 60 s. */
const PROMPTLY_MS = 3000;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let revoking: RunningInstance;
let other: RunningInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  // Two server processes' worth of state (each its own pools, cache and LISTEN connection) on one database.
  revoking = await startTestInstance(database.url, { role: "server", env: { RUNLATER_API_KEY_CACHE_SECONDS: "60" } });
  other = await startTestInstance(database.url, { role: "server", env: { RUNLATER_API_KEY_CACHE_SECONDS: "60" } });
});

afterAll(async () => {
  await other?.stop();
  await revoking?.stop();
  await database?.drop();
});

async function createKey(name: string): Promise<{ id: string; secret: string }> {
  const created = await graphql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    revoking,
    ALICE_KEY,
    `mutation { createApiKey(name: "${name}") { secret apiKey { id } } }`,
  );
  return { id: created.data!.createApiKey.apiKey.id, secret: created.data!.createApiKey.secret };
}

/** Uses the key on both servers, so each remembers it. */
async function useEverywhere(secret: string): Promise<void> {
  for (const instance of [revoking, other]) expect((await rest(instance, secret, "GET", "/tasks")).status).toBe(200);
}

describe("API keys remembered by server processes", () => {
  it("are refused by every server promptly after a revocation through the API", async () => {
    const key = await createKey("ci");
    await useEverywhere(key.secret);

    expect((await rest(revoking, ALICE_KEY, "DELETE", `/api-keys/${key.id}`)).status).toBe(200);
    // The process that revoked forgets the key at once.
    expect((await rest(revoking, key.secret, "GET", "/tasks")).status).toBe(401);
    await eventually(async () => (await rest(other, key.secret, "GET", "/tasks")).status === 401, PROMPTLY_MS);
    const refused = await rest<{ error: { code: string; message: string } }>(other, key.secret, "POST", "/tasks", {
      url: "https://example.com/after-revocation",
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringMatching(/invalid or revoked/) });
  });

  it("are refused promptly when another writer revokes the key in the database", async () => {
    const key = await createKey("script");
    await useEverywhere(key.secret);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [key.id]);
    } finally {
      await client.end();
    }
    for (const instance of [revoking, other]) {
      await eventually(async () => (await rest(instance, key.secret, "GET", "/tasks")).status === 401, PROMPTLY_MS);
    }
  });

  it("still record when a key was last used", async () => {
    const key = await createKey("usage");
    await useEverywhere(key.secret);
    const listed = await graphql<{ apiKeys: Array<{ id: string; lastUsedAt: string | null }> }>(
      revoking,
      ALICE_KEY,
      "{ apiKeys { id lastUsedAt } }",
    );
    const lastUsedAt = listed.data?.apiKeys.find((candidate) => candidate.id === key.id)?.lastUsedAt;
    expect(lastUsedAt).toBeTruthy();
    expect(Math.abs(Date.parse(lastUsedAt as string) - Date.now())).toBeLessThan(60_000);
  });
});
