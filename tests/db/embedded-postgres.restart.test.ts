// The embedded PostgreSQL keeps its data across restarts and leaves no
// process behind when stopped.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../server/db/embedded-postgres.js";

let dataDir: string | undefined;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it("keeps rows across a restart on the same data directory", async () => {
  // The temporary directory itself is the data directory, so its parent stays
  // reachable for PostgreSQL's unprivileged user when tests run as root.
  dataDir = await mkdtemp(join(tmpdir(), "runlater-embedded-test-"));

  const first = await startEmbeddedPostgres({ dataDir });
  const firstPid = await postmasterPid(dataDir);
  await query(first.connectionString, async (client) => {
    await client.query("CREATE TABLE notes (body text NOT NULL)");
    await client.query("INSERT INTO notes (body) VALUES ('kept across restarts')");
  });
  await first.stop();
  expect(isRunning(firstPid)).toBe(false);
  expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(false);

  const second = await startEmbeddedPostgres({ dataDir });
  const secondPid = await postmasterPid(dataDir);
  try {
    const rows = await query(second.connectionString, async (client) => (await client.query("SELECT body FROM notes")).rows);
    expect(rows).toEqual([{ body: "kept across restarts" }]);
    expect(new URL(second.connectionString).port).not.toBe("5432");
  } finally {
    await second.stop();
  }
  expect(isRunning(secondPid)).toBe(false);
});

async function query<T>(connectionString: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "", 10);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
