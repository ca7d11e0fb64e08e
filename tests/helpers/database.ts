/**
 * A real PostgreSQL database per test file, cloned from the migrated template
 * that tests/global-setup.ts prepares. Set KEEP_TEST_DATABASES=1 to keep the
 * databases after the run for inspection; their names are printed.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  /** Disconnects every session and drops the database (unless KEEP_TEST_DATABASES=1). */
  drop(): Promise<void>;
}

/** SQLSTATE object_in_use: CREATE DATABASE found a session connected to the template. */
const objectInUse = "55006";
const cloneAttempts = 50;

/**
 * Creates a uniquely named database: a clone of the template (migrations and
 * pg-boss schema applied), or with `{ empty: true }` a database with nothing in it.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject("adminDatabaseUrl");
  const template = databaseName(inject("templateDatabaseUrl"));
  const name = `runlater_test_${randomBytes(6).toString("hex")}`;
  const createStatement = options.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`;

  await withAdminClient(adminUrl, async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(createStatement);
        return;
      } catch (error) {
        // Another test file's clone holds a brief lock on the template.
        if ((error as { code?: string }).code !== objectInUse || attempt === cloneAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  const url = withDatabase(adminUrl, name);
  return {
    url,
    async drop() {
      if (process.env.KEEP_TEST_DATABASES === "1") {
        console.log(`KEEP_TEST_DATABASES: kept test database ${name} (${url})`);
        return;
      }
      await withAdminClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** `url` pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const withPath = new URL(url);
  withPath.pathname = `/${database}`;
  return withPath.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

export async function withAdminClient<T>(adminUrl: string, use: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.end();
  }
}
