// `npm run db:migration -- <name> [--empty]`
//
// Writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that
// takes a database migrated with the existing migrations to schema.prisma,
// in the layout `prisma migrate dev --create-only` produces, so `prisma migrate
// deploy` can apply it. `--empty` writes an empty migration for hand-written SQL.
//
// The diff needs a PostgreSQL server to replay the migrations in a shadow
// database: DATABASE_URL when set (its role needs CREATEDB), otherwise a
// throwaway embedded PostgreSQL.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { startEmbeddedPostgres } from "../server/db/embedded-postgres.js";
import { migrationLockfileContent, migrationLockfilePath, migrationsDirectory, withPrismaSchemaEngine } from "./prisma-schema-engine.js";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { empty: { type: "boolean" } } });
const migrationName = toMigrationName(positionals.join(" "));
if (!migrationName) {
  console.error("Usage: npm run db:migration -- <name> [--empty]");
  process.exit(1);
}

await mkdir(migrationsDirectory, { recursive: true });
// Prisma rewrites the lockfile with every migration it creates.
await writeFile(migrationLockfilePath, migrationLockfileContent);

const script = values.empty ? "-- This is an empty migration." : await diffMigrationsToSchema();
if (script === "") {
  console.log("schema.prisma already matches prisma/migrations: no migration created.");
  process.exit(0);
}

const directory = join(migrationsDirectory, `${utcTimestamp(new Date())}_${migrationName}`);
await mkdir(directory);
await writeFile(join(directory, "migration.sql"), script);
console.log(`Created ${relative(process.cwd(), join(directory, "migration.sql"))}`);

async function diffMigrationsToSchema(): Promise<string> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) return withPrismaSchemaEngine(databaseUrl, (engine) => engine.diffMigrationsToSchema());

  const dataDir = await mkdtemp(join(tmpdir(), "runlater-migration-"));
  const postgres = await startEmbeddedPostgres({ dataDir });
  try {
    return await withPrismaSchemaEngine(postgres.connectionString, (engine) => engine.diffMigrationsToSchema());
  } finally {
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Prisma's rule for directory names: snake_case, at most 200 characters.
function toMigrationName(input: string): string {
  return input
    .replace(/([a-z\d])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z\d]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 200);
}

// `%Y%m%d%H%M%S` in UTC, as the schema engine names migrations.
function utcTimestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, "").slice(0, 14);
}
