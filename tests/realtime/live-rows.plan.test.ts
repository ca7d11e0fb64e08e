// Every batch of live notifications loads its rows on the server's LISTEN connection; those loads must find their rows
// by primary key however large the tables grow. The tasks load was once written `id = ANY($1) OR id IN (SELECT ...)`,
// which PostgreSQL can only answer by reading every task (12 ms at 100,000 tasks, on every batch).
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LIVE_EXECUTIONS_SQL, LIVE_TASKS_SQL, loadLiveRows } from "../../server/services/live-events.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { planNodes, sequentialScans } from "../helpers/plans.js";

let database: TestDatabase;
let client: pg.Client;
let organizationId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const { rows } = await client.query<{ id: string }>(
    "INSERT INTO organizations (id, name, slug, signing_secret) VALUES (gen_random_uuid(), 'Live', 'live', 'whsec_live') RETURNING id",
  );
  organizationId = rows[0]?.id as string;
  await client.query(
    `INSERT INTO tasks (id, organization_id, url, run_at)
     SELECT gen_random_uuid(), $1, 'https://example.com/' || n, now() FROM generate_series(1, 20000) AS n`,
    [organizationId],
  );
  await client.query(
    `INSERT INTO executions (id, organization_id, task_id, attempt, scheduled_for)
     SELECT gen_random_uuid(), organization_id, id, 1, now() FROM tasks`,
  );
  await client.query("ANALYZE tasks");
  await client.query("ANALYZE executions");
}, 60_000);

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

it("loads the tasks of a batch by primary key, not by reading every task", async () => {
  const { rows } = await client.query<{ id: string; taskId: string }>(
    `SELECT id, task_id AS "taskId" FROM executions ORDER BY random() LIMIT 8`,
  );
  const executionIds = rows.slice(0, 4).map((row) => row.id);
  const taskIds = rows.slice(4).map((row) => row.taskId);

  expect(sequentialScans(await planNodes(client, LIVE_TASKS_SQL, [taskIds, executionIds]))).toEqual([]);
  expect(sequentialScans(await planNodes(client, LIVE_EXECUTIONS_SQL, [executionIds]))).toEqual([]);

  // And the rows are those named: the four executions with their tasks, and the four tasks named directly.
  const loaded = await loadLiveRows(client, { executionIds, taskIds });
  expect(loaded.executions.map((execution) => execution.id).sort()).toEqual([...executionIds].sort());
  const executionTaskIds = rows.slice(0, 4).map((row) => row.taskId);
  expect(loaded.executions.map((execution) => execution.task.id).sort()).toEqual([...executionTaskIds].sort());
  expect(loaded.tasks.map((task) => task.id).sort()).toEqual([...taskIds].sort());
});
