// The top-up that admits due attempts outside queues for every organisation (server/services/queues.ts), on a
// database where one organisation has a large backlog and another a few tasks: what it admits for each, counting
// jobs its queues already have waiting, and that it finds the small organisation's attempts through the
// per-organisation index. With an equality on the organisation alone, PostgreSQL chose the all-organisations index in
// due order and filtered it, reading the large organisation's whole backlog on every top-up (17–62 ms here at 100,000
// attempts, and once a sequential scan of the table to update them).
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TOP_UP_UNQUEUED_SQL } from "../../server/services/queues.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { indexesRead, planNodes, sequentialScans } from "../helpers/plans.js";

let database: TestDatabase;
let client: pg.Client;
const organizations = { large: "", small: "" };

/** `count` due attempts of `organization`, due `minutesAgo`; in `queue` and admitted when given one. */
async function seedAttempts(organization: string, count: number, minutesAgo: number, queue: string | null = null): Promise<void> {
  await client.query(
    `WITH t AS (
       INSERT INTO tasks (id, organization_id, url, run_at, queue)
       SELECT gen_random_uuid(), $1, 'https://example.com/', now() - $3 * interval '1 minute', $4 FROM generate_series(1, $2)
       RETURNING id, run_at)
     INSERT INTO executions (id, organization_id, task_id, attempt, scheduled_for, queue, admitted_at)
     SELECT gen_random_uuid(), $1, id, 1, run_at, $4::text, CASE WHEN $4::text IS NOT NULL THEN now() END FROM t`,
    [organization, count, minutesAgo, queue],
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const insert =
    "INSERT INTO organizations (id, name, slug, signing_secret, concurrency_limit) VALUES (gen_random_uuid(), $1, $1, 'whsec', $2) RETURNING id";
  organizations.large = (await client.query<{ id: string }>(insert, ["large", 1000])).rows[0]?.id as string;
  organizations.small = (await client.query<{ id: string }>(insert, ["small", 5])).rows[0]?.id as string;
  // The large organisation's backlog is older than the small one's tasks: in due order, all of it comes first.
  await seedAttempts(organizations.large, 100_000, 10);
  await seedAttempts(organizations.large, 30, 10, "bulk");
  await seedAttempts(organizations.small, 20, 1);
  await client.query("ANALYZE executions");
}, 120_000);

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

it("tops each organisation up to its limit or the batch, counting the jobs its queues have waiting", async () => {
  await client.query("BEGIN");
  try {
    const { rows } = await client.query<{ organizationId: string }>(TOP_UP_UNQUEUED_SQL, [100]);
    const admitted = (organization: string) => rows.filter((row) => row.organizationId === organization).length;
    // 100 (the batch, below its limit of 1,000) less the 30 jobs waiting in its queue.
    expect(admitted(organizations.large)).toBe(70);
    expect(admitted(organizations.small)).toBe(5);
    // Topped up already: a second top-up finds nothing to add.
    expect((await client.query(TOP_UP_UNQUEUED_SQL, [100])).rowCount).toBe(0);
  } finally {
    await client.query("ROLLBACK");
  }
});

it("reads each organisation's due attempts through the per-organisation index, and updates them by id", async () => {
  const nodes = await planNodes(client, TOP_UP_UNQUEUED_SQL, [100]);
  expect(sequentialScans(nodes)).not.toContain("executions");
  const indexes = indexesRead(nodes);
  expect(indexes).toContain("executions_awaiting_admission_by_org_idx");
  expect(indexes).not.toContain("executions_awaiting_admission_idx");
});
