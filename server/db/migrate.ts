// Applies prisma/migrations at start-up without Prisma's migration engine, and
// records them exactly as `prisma migrate deploy` does, in `_prisma_migrations`,
// so either tool can take over from the other:
//
// - a migration is applied when it has a row with `finished_at` set and
//   `rolled_back_at` unset; `checksum` is the SHA-256 (hex) of its migration.sql;
// - a row with neither is a migration that failed under Prisma: we refuse to
//   go on, as Prisma does, until someone resolves it;
// - a row with `rolled_back_at` set is ignored and the migration applied again.
//
// Starters serialize on the advisory lock Prisma Migrate itself takes, so
// several servers and workers (and a concurrent `prisma migrate deploy`) can
// start at once. Each migration runs in its own transaction: one that fails
// leaves neither schema changes nor a row behind. On a live database (other
// processes still running the previous version) a migration may lose a
// deadlock to their writes, or wait for their locks: it waits at most
// `lockTimeoutMs` per lock and is tried again, rolled back, a few times.
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { projectPath } from "../project-root.js";

const migrationsDirectory = projectPath("prisma", "migrations");

// The key Prisma Migrate locks on PostgreSQL ("72707369 is a unique number we
// chose to identify Migrate", prisma-engines).
const prismaMigrateAdvisoryLock = 72707369;

// Prisma's own DDL for the table, so `prisma migrate` finds what it expects. Exported for tests.
export const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Tries of one migration that lost a deadlock or waited too long for a lock (each rolled back whole). */
const MIGRATION_ATTEMPTS = 5;
/** SQLSTATEs after which a migration is simply tried again: deadlock_detected, lock_not_available. */
const RETRYABLE_MIGRATION_ERRORS = new Set(["40P01", "55P03"]);

export interface MigrationOptions {
  log?: (message: string) => void;
  /** How long a migration's statement waits for a lock held by live traffic before the migration is tried again. */
  lockTimeoutMs?: number;
}

interface MigrationFile {
  name: string;
  script: string;
}

interface MigrationRecord {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every migration in prisma/migrations that the database has not
 * recorded yet, in name order, and returns the names of those it applied.
 * Throws without changing anything when an applied migration's file was
 * edited, or when a migration is recorded as failed.
 */
export async function applyMigrations(connectionString: string, options: MigrationOptions = {}): Promise<{ applied: string[] }> {
  const { log = () => {}, lockTimeoutMs = 5000 } = options;
  const migrations = await readMigrationFiles();
  const client = new pg.Client({ connectionString });
  client.on("error", (error) => log(`Migration connection error: ${error.message}`));
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [prismaMigrateAdvisoryLock]);
    await client.query(createMigrationsTable);
    const { rows: records } = await client.query<MigrationRecord>(
      "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at",
    );
    const pending = selectPendingMigrations(migrations, records, log);

    const applied: string[] = [];
    for (const migration of pending) {
      log(`Applying migration ${migration.name}`);
      await applyMigrationRetrying(client, migration, { log, lockTimeoutMs });
      applied.push(migration.name);
    }
    log(applied.length === 0 ? "Database schema is up to date" : `Applied ${applied.length} migration(s)`);
    return { applied };
  } finally {
    // Ending the session releases the advisory lock.
    await client.end();
  }
}

function selectPendingMigrations(migrations: MigrationFile[], records: MigrationRecord[], log: (msg: string) => void): MigrationFile[] {
  const failed = records.find((record) => record.finished_at === null && record.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} is recorded as failed in _prisma_migrations and was not finished. ` +
        `Repair the database by hand, then mark it with \`prisma migrate resolve --rolled-back ${failed.migration_name}\` ` +
        `(or --applied) before starting again.`,
    );
  }

  const appliedChecksums = new Map(records.filter((record) => record.rolled_back_at === null).map((r) => [r.migration_name, r.checksum]));
  for (const [name, checksum] of appliedChecksums) {
    const migration = migrations.find((candidate) => candidate.name === name);
    if (!migration) {
      log(`Migration ${name} is applied to the database but missing from ${migrationsDirectory}`);
    } else if (!scriptMatchesChecksum(migration.script, checksum)) {
      throw new Error(
        `Migration ${name} was modified after it was applied: its migration.sql no longer matches the checksum ` +
          `recorded in _prisma_migrations. Applied migrations are immutable; restore the file and put the change ` +
          `in a new migration (npm run db:migration -- <name>).`,
      );
    }
  }
  return migrations.filter((migration) => !appliedChecksums.has(migration.name));
}

async function applyMigrationRetrying(
  client: pg.Client,
  migration: MigrationFile,
  options: { log: (message: string) => void; lockTimeoutMs: number },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await applyMigration(client, migration, options.lockTimeoutMs);
      return;
    } catch (error) {
      const message = (error as Error).message;
      const retryable = RETRYABLE_MIGRATION_ERRORS.has((error as { code?: string }).code ?? "");
      if (retryable && attempt < MIGRATION_ATTEMPTS) {
        options.log(`Migration ${migration.name} rolled back (${message}); trying again (${attempt + 1} of ${MIGRATION_ATTEMPTS})`);
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        continue;
      }
      const advice = retryable
        ? `other sessions kept the locks it needs through ${MIGRATION_ATTEMPTS} tries; start again when the database is quieter (or stop the other processes first)`
        : `fix ${join(migrationsDirectory, migration.name, "migration.sql")} and start again`;
      throw new Error(`Migration ${migration.name} failed and was rolled back: ${message}. Nothing was recorded; ${advice}.`, {
        cause: error,
      });
    }
  }
}

async function applyMigration(client: pg.Client, migration: MigrationFile, lockTimeoutMs: number): Promise<void> {
  // The timeout for this transaction only; a whole number, so it can be written into the statement.
  await client.query(`BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
  try {
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [randomUUID(), sha256Hex(migration.script), migration.name],
    );
    // No parameters: the simple query protocol runs the whole multi-statement
    // script, as Prisma does.
    await client.query(migration.script);
    await client.query(
      `UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1
       WHERE migration_name = $1 AND finished_at IS NULL`,
      [migration.name],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

// Prisma's listing: every sub-directory holding a migration.sql, by name.
async function readMigrationFiles(): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDirectory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  return Promise.all(
    names.map(async (name) => ({
      name,
      script: await readFile(join(migrationsDirectory, name, "migration.sql"), "utf8"),
    })),
  );
}

function sha256Hex(script: string): string {
  return createHash("sha256").update(script).digest("hex");
}

// Like Prisma, accept the file with either line ending: git may have converted it.
function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll("\r\n", "\n"), script.replaceAll("\n", "\r\n")];
  return variants.some((variant) => sha256Hex(variant) === checksum);
}
