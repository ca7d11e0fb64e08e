// Drives Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm)
// through the pg driver adapter, the way Prisma's own `packages/migrate` does.
// The native engine behind `prisma migrate` cannot be downloaded here; the
// WebAssembly build runs the same Rust code, so the SQL it renders is the SQL
// `prisma migrate dev` would write. Development tooling only: the running
// application applies migrations with server/db/migrate.ts.
//
// Pinned to the engine release of Prisma 7.10.0 (Prisma 7.10.1's own engine
// build was not published to npm).

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
} from "@prisma/driver-adapter-utils";
import type { DiffTarget, MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";
import pg, { type PoolConfig } from "pg";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
export const schemaPath = join(projectRoot, "prisma", "schema.prisma");
export const migrationsDirectory = join(projectRoot, "prisma", "migrations");
const lockfileName = "migration_lock.toml";

export interface PrismaSchemaEngine {
  /**
   * The SQL that takes a database migrated with every migration in
   * prisma/migrations to schema.prisma; empty when they match. Computed by
   * replaying the migrations in a shadow database.
   */
  diffMigrationsToSchema(): Promise<string>;
  /** The SQL that takes the connected database to schema.prisma; empty when they match. */
  diffDatabaseToSchema(): Promise<string>;
}

/**
 * Runs `use` with a schema engine connected to `connectionString`. Diffs from
 * the migrations directory replay it in a throwaway shadow database created
 * (and dropped) on the same server, so the role needs CREATEDB.
 */
export async function withPrismaSchemaEngine<T>(connectionString: string, use: (engine: PrismaSchemaEngine) => Promise<T>): Promise<T> {
  const SchemaEngineClass = await loadSchemaEngineClass();
  const databases = new EngineDatabases(connectionString);
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(databases);
  const run = <R>(command: () => Promise<R>) => runEngineCommand(adapterFactory.errorRegistry, command);
  const schemaFile = { path: schemaPath, content: await readFile(schemaPath, "utf8") };
  const engine = await run(() => SchemaEngineClass.new({ datamodels: [[schemaFile.path, schemaFile.content]] }, () => {}, adapterFactory));

  // `diff` rather than `createMigration`: in this engine build only `diff` can
  // open a PostgreSQL shadow database through the adapter. Both render the
  // script with the same code; `diff` just omits the data-loss warning comments.
  const diffToSchema = async (from: DiffTarget) => {
    const { stdout } = await run(() =>
      engine.diff({
        from,
        to: { tag: "schemaDatamodel", files: [schemaFile] },
        script: true,
        exitCode: true,
        filters: { externalTables: [], externalEnums: [] },
      }),
    );
    return isEmptyScript(stdout ?? "") ? "" : (stdout ?? "");
  };

  try {
    return await use({
      async diffMigrationsToSchema() {
        return diffToSchema({ tag: "migrations", ...(await readMigrationList()) });
      },
      diffDatabaseToSchema() {
        return diffToSchema({ tag: "schemaDatasource", files: [schemaFile], configDir: projectRoot });
      },
    });
  } finally {
    engine.free();
    await databases.disposeAll();
  }
}

const charColumnsOfCurrentQuery = new AsyncLocalStorage<number[]>();

/**
 * The adapter factory handed to the engine. PrismaPg's own shadow database
 * handling does not work here: it derives the shadow connection by overriding
 * `database`, which a connection string silently wins over, and it drops the
 * shadow database while its own pool is still connected to it.
 */
class EngineDatabases implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres";
  readonly adapterName = "@prisma/adapter-pg";
  private readonly poolConfig: PoolConfig;
  private readonly openAdapters = new Set<SqlDriverAdapter>();

  constructor(connectionString: string) {
    this.poolConfig = { connectionString, max: 2 };
  }

  connect(): Promise<SqlDriverAdapter> {
    return this.open(this.poolConfig);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const shadowDatabase = `prisma_migrate_shadow_db_${randomUUID().replaceAll("-", "")}`;
    const dropShadowDatabase = () => this.runAdminStatement(`DROP DATABASE IF EXISTS "${shadowDatabase}" WITH (FORCE)`);
    await this.runAdminStatement(`CREATE DATABASE "${shadowDatabase}"`);
    const url = new URL(this.poolConfig.connectionString as string);
    url.pathname = `/${shadowDatabase}`;
    try {
      return await this.open({ ...this.poolConfig, connectionString: url.toString() }, dropShadowDatabase);
    } catch (error) {
      await dropShadowDatabase();
      throw error;
    }
  }

  async disposeAll(): Promise<void> {
    for (const adapter of this.openAdapters) await adapter.dispose();
  }

  private async open(poolConfig: PoolConfig, afterDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
    const adapter = await new PrismaPg(poolConfig).connect();
    const disposePool = adapter.dispose.bind(adapter);
    this.openAdapters.add(adapter);
    // PrismaPg splits scripts on every ";", which breaks migrations containing
    // function bodies or string literals with semicolons. The simple query
    // protocol runs a multi-statement script as is, like Prisma's native engine.
    adapter.executeScript = async (script) => {
      try {
        await adapter.underlyingDriver().query(script);
      } catch (error) {
        (adapter as unknown as { onError(error: unknown): never }).onError(error);
      }
    };
    // PrismaPg cannot decode PostgreSQL's internal one-byte "char" type, which
    // the engine's catalog queries select (relkind, contype…): let it decode
    // the values as text (pg returns them as strings), then declare those
    // columns as characters, the type the engine reads them as (prisma/prisma#27403).
    const internals = adapter as unknown as { performIO(query: SqlQuery): Promise<pg.QueryArrayResult> };
    const performIO = internals.performIO.bind(adapter);
    internals.performIO = async (query) => {
      const result = await performIO(query);
      result.fields.forEach((field, index) => {
        if (field.dataTypeID !== pg.types.builtins.CHAR) return;
        field.dataTypeID = pg.types.builtins.TEXT;
        charColumnsOfCurrentQuery.getStore()?.push(index);
      });
      return result;
    };
    const queryRaw = adapter.queryRaw.bind(adapter);
    adapter.queryRaw = (query) => {
      const charColumns: number[] = [];
      return charColumnsOfCurrentQuery.run(charColumns, async () => {
        const resultSet = await queryRaw(query);
        for (const index of charColumns) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
        return resultSet;
      });
    };
    adapter.dispose = async () => {
      if (!this.openAdapters.delete(adapter)) return;
      await disposePool();
      await afterDispose?.();
    };
    return adapter;
  }

  private async runAdminStatement(sql: string): Promise<void> {
    const client = new pg.Client(this.poolConfig);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/** Prisma's lockfile, byte for byte as the Prisma CLI writes it. */
export const migrationLockfileContent =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n';

export const migrationLockfilePath = join(migrationsDirectory, lockfileName);

// The same listing the Prisma CLI hands the engine: every sub-directory with its
// migration.sql, sorted by name.
async function readMigrationList(): Promise<MigrationList> {
  const lockfileContent = await readFile(migrationLockfilePath, "utf8").catch(() => null);
  const entries = await readdir(migrationsDirectory, { withFileTypes: true }).catch(() => []);
  const directories = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    directories.map(async (name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: await readFile(join(migrationsDirectory, name, "migration.sql"), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (error: Error) => ({ tag: "error" as const, value: error.message }),
        ),
      },
    })),
  );
  return {
    baseDir: migrationsDirectory,
    lockfile: { path: lockfileName, content: lockfileContent },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

function isEmptyScript(script: string): boolean {
  return script.trim() === "" || script.trim() === "-- This is an empty migration.";
}

type ErrorRegistry = ReturnType<typeof bindMigrationAwareSqlAdapterFactory>["errorRegistry"];

// Errors raised inside the adapter (connection refused, SQL errors) reach the
// engine as opaque ids; the registry turns them back into the original error.
async function runEngineCommand<T>(errorRegistry: ErrorRegistry, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    const adapterErrorId = (error as { meta?: { id?: unknown } } | null)?.meta?.id;
    const adapterError = typeof adapterErrorId === "number" ? errorRegistry.consumeError(adapterErrorId) : undefined;
    if (adapterError) throw adapterError.error;
    if (error && typeof error === "object" && "code" in error && "message" in error) {
      throw new Error(`Prisma schema engine error ${String(error.code)}: ${String(error.message)}`);
    }
    throw error;
  }
}

let schemaEngineClass: Promise<typeof SchemaEngine> | undefined;

// The package's entry point imports the .wasm file as an ES module, which Node
// 20 cannot do; instantiate it by hand. Only once per process: wasm-bindgen
// keeps global state and a second instance crashes.
function loadSchemaEngineClass(): Promise<typeof SchemaEngine> {
  schemaEngineClass ??= (async () => {
    // The engine's panic hook reports the Rust panic here, just before the
    // WebAssembly trap, which by itself only says "unreachable".
    (globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message(message: string) {
        process.stderr.write(`Prisma schema engine panicked: ${message}\n`);
      },
    };
    const bindingsUrl = pathToFileURL(createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg")).href;
    const bindings = await import(bindingsUrl);
    const module = new WebAssembly.Module(await readFile(new URL("schema_engine_bg.wasm", bindingsUrl)));
    const instance = new WebAssembly.Instance(module, { "./schema_engine_bg.js": bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings.SchemaEngine as typeof SchemaEngine;
  })();
  return schemaEngineClass;
}
