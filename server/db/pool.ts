import pg from "pg";
import type { Logger } from "../logger.js";

// Return int8 (bigint) as a JS number: counts and ids in our schema stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool itself or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, "query">;

export function createPool(connectionString: string, options: { max: number; logger: Logger; name: string }): Pool {
  const pool = new pg.Pool({ connectionString, max: options.max, application_name: options.name });
  // An idle client losing its connection emits on the pool; unhandled, it would crash the process.
  pool.on("error", (error) => options.logger.error({ err: error, pool: options.name }, "idle database client failed"));
  return pool;
}

/**
 * Makes the transaction's named statements run their generic plan, prepared once per connection. For statements that
 * look rows up by arrays of ids (a worker's settle), the plan never depends on the values, but PostgreSQL's default
 * (`auto`) can keep making a custom plan for every execution, because one for a batch of one id looks cheaper:
 * measured, 0.31 ms of planning per settle for a 0.03 ms health read. Unnamed statements are not affected. Not for
 * a transaction whose statements' best plans depend on their values (the take: see bossDb).
 */
export const GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan";

/**
 * A statement prepared on a connection with SQL `PREPARE`, for use inside a simple-query string: `EXECUTE name` shares
 * the round trip of the statements around it (a BEGIN before it, a COMMIT after it) and still runs a cached plan.
 * node-postgres's own named statements (the extended protocol) take a round trip each.
 */
export interface SessionStatement {
  /** An SQL identifier, unique among the connection's prepared statements. */
  name: string;
  /** The types of $1, $2…; integer parameters only (see executeStatement). */
  parameterTypes: "int"[];
  text: string;
}

const sessionStatementsByConnection = new WeakMap<PoolClient, Set<string>>();

/**
 * Prepares on `client` those of `statements` its connection has not prepared yet: two round trips the first time,
 * none after.
 */
export async function prepareOnConnection(client: PoolClient, statements: SessionStatement[]): Promise<void> {
  const known = sessionStatementsByConnection.get(client);
  if (known && statements.every((statement) => known.has(statement.name))) return;
  // The connection's own list, not a guess: PREPARE is not transactional, so a batch that failed half way (and is
  // tried again by the next call) may have left some of its statements prepared.
  const { rows } = await client.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE from_sql");
  const prepared = new Set(rows.map((row) => row.name));
  sessionStatementsByConnection.set(client, prepared);
  const missing = statements.filter((statement) => !prepared.has(statement.name));
  if (missing.length === 0) return;
  const parameters = (statement: SessionStatement) => (statement.parameterTypes.length ? `(${statement.parameterTypes.join(", ")})` : "");
  await client.query(missing.map((statement) => `PREPARE ${statement.name}${parameters(statement)} AS ${statement.text}`).join(";\n"));
  for (const statement of missing) prepared.add(statement.name);
}

/** The SQL that runs a statement prepared by prepareOnConnection; its integer arguments are written into it. */
export function executeStatement(statement: SessionStatement, args: number[] = []): string {
  if (args.length !== statement.parameterTypes.length || !args.every(Number.isSafeInteger)) {
    throw new Error(`${statement.name} takes ${statement.parameterTypes.length} integer arguments, got ${JSON.stringify(args)}`);
  }
  return args.length ? `EXECUTE ${statement.name}(${args.join(", ")})` : `EXECUTE ${statement.name}`;
}

/**
 * What to hand `client.release` after a transaction failed with `error`: the error itself when a prepared statement
 * the client counts on is gone from its session (SQLSTATE 26000: after a DISCARD ALL, a DEALLOCATE, or a pooler's
 * reset), so that the pool closes the connection and opens another. node-postgres and prepareOnConnection both
 * remember what they prepared per connection: kept, such a connection would fail again and again.
 */
export function releaseReason(error: unknown): Error | undefined {
  return (error as { code?: string } | null)?.code === "26000" ? (error as Error) : undefined;
}

/** SQLSTATEs after which the whole transaction may simply be run again. */
const RETRYABLE_TRANSACTION_ERRORS = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure
const TRANSACTION_ATTEMPTS = 3;

/**
 * Runs `work` in a transaction on one pooled client; rolls back if it throws.
 * A transaction chosen as a deadlock victim (two transactions locking a task
 * and its executions in opposite orders, e.g. a cancel racing a worker) is
 * run again; `work` must therefore only act through `client`.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  /** Statements without parameters run right after BEGIN, in its round trip (e.g. GENERIC_PLANS). */
  options: { settings?: string[] } = {},
): Promise<T> {
  const begin = ["BEGIN", ...(options.settings ?? [])].join("; ");
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      broken = releaseReason(error);
      const code = (error as { code?: string }).code;
      if (attempt >= TRANSACTION_ATTEMPTS || !code || !RETRYABLE_TRANSACTION_ERRORS.has(code)) throw error;
    } finally {
      client.release(broken);
    }
  }
}
