/**
 * Group commit of plain pushes (server/services/push-writer.ts) on a real
 * database: pushes that arrive while statements are in flight are written
 * together, never mixing organisations, and a push that cannot be written
 * fails alone. Which statement wrote a row is told by its transaction id (xmin).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, type Pool } from "../../server/db/pool.js";
import { createLogger } from "../../server/logger.js";
import { createOrganization } from "../../server/services/organizations.js";
import { PushWriter } from "../../server/services/push-writer.js";
import { validatePush } from "../../server/services/tasks.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let database: TestDatabase;
let pool: Pool;
let acme: string;
let globex: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ level: "silent" });
  pool = createPool(database.url, { max: 4, logger, name: "test-push-writer" });
  acme = (await createOrganization(pool, { name: "Acme", slug: "acme" })).id;
  globex = (await createOrganization(pool, { name: "Globex", slug: "globex" })).id;
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

const spec = (fields: Record<string, unknown>) => validatePush({ delay: "1h", ...fields }, new Date(), { allowPrivateTargets: true });

/** Transactions that wrote the given tasks, with the organisations and urls of each. */
async function statementsOf(taskIds: string[]) {
  const { rows } = await pool.query<{ organizations: string[]; urls: string[] }>(
    `SELECT array_agg(DISTINCT organization_id::text) AS organizations, array_agg(url ORDER BY id) AS urls
     FROM tasks WHERE id = ANY($1::uuid[]) GROUP BY xmin::text ORDER BY min(id::text)`,
    [taskIds],
  );
  return rows;
}

describe("PushWriter", () => {
  it("writes the pushes that arrive while a statement is in flight in one statement, each with its first attempt", async () => {
    const writer = new PushWriter(pool, 1);
    const urls = Array.from({ length: 20 }, (_, index) => `https://example.com/hook/${index}`);
    const tasks = await Promise.all(urls.map((url) => writer.write(acme, spec({ url }))));

    expect(tasks.map((task) => task.url)).toEqual(urls);
    const statements = await statementsOf(tasks.map((task) => task.id));
    // The first push went out alone at once; the 19 that came meanwhile, together, in push order.
    expect(statements.map((statement) => statement.urls)).toEqual([urls.slice(0, 1), urls.slice(1)]);
    const { rows } = await pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM executions WHERE task_id = ANY($1::uuid[]) AND status = 'PENDING' AND attempt = 1`,
      [tasks.map((task) => task.id)],
    );
    expect(rows[0]?.count).toBe(20);
  });

  it("never writes two organisations' pushes in one statement", async () => {
    const writer = new PushWriter(pool, 1);
    const pushes = Array.from({ length: 12 }, (_, index) => ({
      organizationId: index % 2 === 0 ? acme : globex,
      url: `https://example.com/mixed/${index}`,
    }));
    const tasks = await Promise.all(pushes.map((push) => writer.write(push.organizationId, spec({ url: push.url }))));

    tasks.forEach((task, index) => {
      expect(task.organizationId).toBe(pushes[index]?.organizationId);
    });
    const statements = await statementsOf(tasks.map((task) => task.id));
    for (const statement of statements) expect(statement.organizations).toHaveLength(1);
    // The first (acme) push alone, then the waiting ones by organisation, the oldest waiting first: globex's six, acme's five.
    expect(statements.map((statement) => [statement.organizations[0], statement.urls.length])).toEqual([
      [acme, 1],
      [globex, 6],
      [acme, 5],
    ]);
  });

  it("fails only the push PostgreSQL refuses; the others of its statement are written", async () => {
    const writer = new PushWriter(pool, 1);
    const first = writer.write(acme, spec({ url: "https://example.com/first" }));
    // A NUL character cannot be stored in a text column: PostgreSQL refuses the statement holding it (the API's
    // validation refuses such a body; here it is slipped past it).
    const fields = ["a", "b", "bad", "c"].map((name) => ({ url: `https://example.com/${name}`, body: name }));
    const specs = fields.map((push) => ({ ...spec(push), ...(push.body === "bad" ? { body: "nul \u0000" } : {}) }));
    const results = await Promise.allSettled(specs.map((pushed) => writer.write(acme, pushed)));
    await first;

    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const { rows } = await pool.query<{ url: string }>("SELECT url FROM tasks WHERE url = ANY($1::text[]) ORDER BY url", [
      fields.map((push) => push.url),
    ]);
    expect(rows.map((row) => row.url)).toEqual(["https://example.com/a", "https://example.com/b", "https://example.com/c"]);
  });
});
