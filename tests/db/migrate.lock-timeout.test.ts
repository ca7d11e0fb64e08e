// A migration applied while other sessions hold locks it needs (processes of the previous version still running)
// waits at most its lock timeout, is rolled back and tried again, and gives up with a clear message.
import pg from "pg";
import { afterEach, beforeEach, expect, it } from "vitest";
import { applyMigrations, createMigrationsTable } from "../../server/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let database: TestDatabase;
let holder: pg.Client;

beforeEach(async () => {
  database = await createTestDatabase({ empty: true });
  holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  // Every migration records itself in this table: a SHARE lock lets the starter read it but not insert into it.
  await holder.query(createMigrationsTable);
  await holder.query("BEGIN");
  await holder.query("LOCK TABLE _prisma_migrations IN SHARE MODE");
});

afterEach(async () => {
  await holder?.end();
  await database?.drop();
});

it("tries a migration again after a lock timeout, and applies it once the lock is gone", async () => {
  const log: string[] = [];
  setTimeout(() => void holder.query("COMMIT"), 1000);
  const { applied } = await applyMigrations(database.url, { log: (message) => log.push(message), lockTimeoutMs: 200 });

  expect(applied.length).toBeGreaterThan(0);
  const retries = log.filter((line) => /rolled back \(canceling statement due to lock timeout\); trying again/.test(line));
  expect(retries.length).toBeGreaterThanOrEqual(1);
  const { rows } = await holder.query<{ count: number }>(
    "SELECT count(*)::int AS count FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
  );
  // Each migration recorded once: the rolled-back tries left no rows.
  expect(rows[0]?.count).toBe(applied.length);
});

it("gives up after five tries while the lock is held, recording nothing", async () => {
  await expect(applyMigrations(database.url, { lockTimeoutMs: 100 })).rejects.toThrow(
    /failed and was rolled back: canceling statement due to lock timeout\. Nothing was recorded; other sessions kept the locks it needs through 5 tries/,
  );
  await holder.query("COMMIT");
  const { rows } = await holder.query<{ count: number }>("SELECT count(*)::int AS count FROM _prisma_migrations");
  expect(rows[0]?.count).toBe(0);
});
