// The embedded PostgreSQL keeps its data across restarts, leaves no process
// behind when stopped, and is reached over a Unix socket in its data directory
// (TCP on 127.0.0.1 still answers, for psql and other tools).

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { socketDirectoryFor, startEmbeddedPostgres } from "../../server/db/embedded-postgres.js";

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
    const url = new URL(second.connectionString);
    expect(url.port).not.toBe("5432");
    // Over the socket PostgreSQL has no server address; over TCP (the URL without its host parameter) it has.
    const serverAddress = "SELECT host(inet_server_addr()) AS address";
    expect(await query(second.connectionString, async (client) => (await client.query(serverAddress)).rows)).toEqual([{ address: null }]);
    url.searchParams.delete("host");
    expect(await query(url.toString(), async (client) => (await client.query(serverAddress)).rows)).toEqual([{ address: "127.0.0.1" }]);
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

it("falls back to TCP alone when the socket's path would not fit in a socket address", () => {
  expect(socketDirectoryFor("/var/lib/runlater/postgres", 54321)).toBe("/var/lib/runlater/postgres");
  expect(socketDirectoryFor(`/var/lib/${"x".repeat(100)}`, 54321)).toBeNull();
});
