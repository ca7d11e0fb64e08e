import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { startTestInstance } from "../helpers/runlater.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let instance: RunningInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await startTestInstance(database.url, { role: "server" });
});

afterAll(async () => {
  await instance?.stop();
  await database?.drop();
});

async function admin(sql: string): Promise<void> {
  const url = new URL(database.url);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(sql);
  await client.end();
}

describe("GET /health", () => {
  it("answers 200 while the database is reachable and 503 while it is not", async () => {
    const healthy = await fetch(`${instance.url}/health`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ status: "ok" });

    const name = new URL(database.url).pathname.slice(1);
    await admin(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    try {
      const unhealthy = await fetch(`${instance.url}/health`);
      expect(unhealthy.status).toBe(503);
      expect(await unhealthy.json()).toMatchObject({ status: "unavailable" });
    } finally {
      await admin(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS true`);
    }
    const recovered = await fetch(`${instance.url}/health`);
    expect(recovered.status).toBe(200);
  });

  it("answers 404 with a JSON error for unknown paths", async () => {
    const answer = await fetch(`${instance.url}/nope`);
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});
