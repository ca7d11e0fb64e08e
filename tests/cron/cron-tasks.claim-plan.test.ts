// A cron claim moves its 1,000 tasks past their slot by id, whatever the table's statistics say about next_run_at:
// in a database full of one-off tasks (no next run), PostgreSQL once chose the next_run_at index for each id and read
// every task sharing the slot 1,000 times over (worker/cron-scheduler.ts, server/services/cron-tasks.ts).
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLAIMED_SLOTS_MOVE_SQL } from "../../server/services/cron-tasks.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { indexesRead, planNodes } from "../helpers/plans.js";

let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const { rows } = await client.query<{ id: string }>(
    "INSERT INTO organizations (id, name, slug, signing_secret) VALUES (gen_random_uuid(), 'Plans', 'plans', 'whsec_plans') RETURNING id",
  );
  const organizationId = rows[0]?.id;
  // What a long-lived installation holds: many one-off tasks, and 5,000 cron tasks on the same minute.
  await client.query(
    `INSERT INTO tasks (id, organization_id, url, run_at)
     SELECT gen_random_uuid(), $1, 'https://example.com/once', now() FROM generate_series(1, 50000)`,
    [organizationId],
  );
  await client.query(
    `INSERT INTO tasks (id, organization_id, type, url, run_at, cron, timezone, next_run_at)
     SELECT gen_random_uuid(), $1, 'CRON', 'https://example.com/cron', now(), '* * * * *', 'UTC', date_trunc('minute', now()) + interval '1 minute'
     FROM generate_series(1, 5000)`,
    [organizationId],
  );
  await client.query("ANALYZE tasks");
}, 60_000);

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

it("joins the claimed tasks by id, not through the next_run_at index", async () => {
  const { rows: claimed } = await client.query<{ id: string; slot: Date }>(
    "SELECT id, next_run_at AS slot FROM tasks WHERE type = 'CRON' ORDER BY next_run_at LIMIT 1000",
  );
  const next = claimed.map((task) => new Date(task.slot.getTime() + 60_000));
  const indexes = indexesRead(
    await planNodes(client, CLAIMED_SLOTS_MOVE_SQL, [
      claimed.map((task) => task.id),
      claimed.map((task) => task.slot),
      next,
      next,
      claimed.map(() => 1),
    ]),
  );
  // With `t.next_run_at = m.slot` the plan was a merge join on that index: 1,000 claimed ids against the 5,000 tasks
  // of the slot. By id, it is a hash join here (a primary-key lookup per id on a larger table).
  expect(indexes).not.toContain("tasks_next_run_at_idx");
});
