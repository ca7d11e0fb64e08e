// Applied migrations are immutable: applyMigrations refuses to start when a
// file no longer matches the checksum recorded when it was applied.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { applyMigrations } from "../../server/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

it("refuses to run when an applied migration's file was edited", async () => {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    // Same effect as editing the file after it was applied.
    await client.query("UPDATE _prisma_migrations SET checksum = repeat('0', 64)");
  } finally {
    await client.end();
  }

  await expect(applyMigrations(database.url)).rejects.toThrow(/was modified after it was applied/);
});
