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

/** Runs `work` in a transaction on one pooled client; rolls back if it throws. */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
