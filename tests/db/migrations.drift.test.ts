// schema.prisma is the source of truth for the database; prisma/migrations must
// produce exactly it. Prisma's own schema engine (WebAssembly build) compares
// them, so a model changed without `npm run db:migration -- <name>` fails here
// with the SQL of the missing migration.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsDirectory, withPrismaSchemaEngine } from "../../scripts/prisma-schema-engine.js";
import { applyMigrations } from "../../server/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe("prisma/migrations", () => {
  it("produce exactly schema.prisma", async () => {
    const missingMigration = await withPrismaSchemaEngine(database.url, (engine) => engine.diffMigrationsToSchema());
    expect(missingMigration, "schema.prisma changed without a migration: run npm run db:migration -- <name>").toBe("");
  });

  it("leave a database migrated by applyMigrations equal to schema.prisma", async () => {
    const difference = await withPrismaSchemaEngine(database.url, (engine) => engine.diffDatabaseToSchema());
    expect(difference).toBe("");
  });

  it("are all applied and recorded as Prisma records them", async () => {
    const names = (await readdir(migrationsDirectory, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const expected = await Promise.all(
      names.map(async (name) => ({
        migration_name: name,
        checksum: createHash("sha256")
          .update(await readFile(join(migrationsDirectory, name, "migration.sql")))
          .digest("hex"),
        finished: true,
        rolled_back: false,
        applied_steps_count: 1,
      })),
    );

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished,
                rolled_back_at IS NOT NULL AS rolled_back, applied_steps_count
         FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows).toEqual(expected);
    } finally {
      await client.end();
    }
    expect(await applyMigrations(database.url)).toEqual({ applied: [] });
  });
});
