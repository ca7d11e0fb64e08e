// Several servers and workers start at once against one empty database: each
// migration must be applied exactly once, and the losers must find it done.
import { readdir } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrationsDirectory } from "../../scripts/prisma-schema-engine.js";
import { applyMigrations } from "../../server/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const concurrentStarters = 5;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ empty: true });
});

afterAll(async () => {
  await database?.drop();
});

it("applies each migration once when several starters race on an empty database", async () => {
  const migrationNames = (await readdir(migrationsDirectory, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  const results = await Promise.all(Array.from({ length: concurrentStarters }, () => applyMigrations(database.url)));

  const appliedByAnyone = results.flatMap((result) => result.applied);
  expect(appliedByAnyone.sort()).toEqual(migrationNames);

  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name",
    );
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
  } finally {
    await client.end();
  }

  expect(await applyMigrations(database.url)).toEqual({ applied: [] });
});
