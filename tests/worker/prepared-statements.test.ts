/**
 * A worker's take and settle prepare their statements once per connection
 * (pg-boss's job insert, fetch and completion among them, through bossDb; the
 * take's admission and next-due read with SQL PREPARE, to share the round
 * trips of its BEGIN and COMMIT),
 * the settle runs its generic plans (GENERIC_PLANS): custom-planned, the
 * health read cost more to plan than to run; and the take leaves the choice to
 * PostgreSQL's plan cache: forced onto its generic plan, pg-boss's fetch was
 * three times slower in a backlog. PostgreSQL's own view of the connection
 * (pg_prepared_statements) shows it.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAttemptOutcomes, takeDueAttempts } from "../../server/services/attempts.js";
import { NEXT_DUE_SQL } from "../../server/services/dispatch-queue.js";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ role: "server" });
const services = () => runlater.instance.runtime;
const groupConcurrency = { default: 5, tiers: {} };

// One connection, so that every take and settle runs on the session whose prepared statements are read.
let pool: pg.Pool;

beforeAll(() => {
  pool = new pg.Pool({ connectionString: services().databaseUrl, max: 1 });
});

afterAll(async () => {
  await pool?.end();
});

interface PreparedStatement {
  name: string;
  statement: string;
  genericPlans: number;
  customPlans: number;
}

async function preparedStatements(): Promise<PreparedStatement[]> {
  const { rows } = await pool.query<PreparedStatement>(
    `SELECT name, statement, generic_plans AS "genericPlans", custom_plans AS "customPlans" FROM pg_prepared_statements`,
  );
  return rows;
}

async function takeAndSettleOne(path: string, on: pg.Pool = pool): Promise<void> {
  await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/${path}` });
  const { jobs, claims } = takeDueAttempts(on, services().boss, {
    batchSize: 10,
    admission: { kind: "oldest", limit: 10 },
    groupConcurrency,
  });
  const [job] = await jobs;
  const claim = (await claims).get(job?.id as string);
  if (claim?.kind !== "claimed") throw new Error(`expected a claimed attempt, got ${claim?.kind}`);
  await recordAttemptOutcomes(on, services().boss, [
    {
      claimed: { ...claim.attempt, jobId: job?.id as string },
      outcome: { kind: "response", status: 200, headers: {}, body: "ok", bodyTruncated: false, durationMs: 1 },
    },
  ]);
}

describe("a worker's prepared statements", () => {
  it("prepares pg-boss's job insert, fetch and completion and the take's admission and next-due read once per connection, plans the fetch as PostgreSQL chooses, and runs the settle's statements on their generic plans", async () => {
    // PostgreSQL's plan cache (plan_cache_mode auto) weighs a generic plan after five custom ones.
    for (let take = 1; take <= 7; take++) await takeAndSettleOne(`prepared-${take}`);

    const statements = await preparedStatements();
    const byName = new Map(statements.map((statement) => [statement.name, statement]));
    const boss = statements.filter((statement) => statement.name.startsWith("runlater-pgboss-"));
    const fetch = boss.find((statement) => /FOR UPDATE OF j SKIP LOCKED/.test(statement.statement));
    // Custom plans for its first five runs: the take does not force generic plans (plan_cache_mode auto).
    expect(fetch?.customPlans).toBeGreaterThanOrEqual(5);
    expect(boss.some((statement) => /INSERT INTO pgboss\./.test(statement.statement))).toBe(true);
    expect(boss.some((statement) => /completed_on = pgboss\.job_now\(\)/.test(statement.statement))).toBe(true);
    // A take of one attempt: its claim keeps the generic plan (with an array of ids, a custom plan every time).
    expect(byName.get("runlater-claim-one")?.genericPlans).toBeGreaterThanOrEqual(1);
    // The claim marked the attempt RUNNING itself: the separate claim write is for attempts behind breaker rows.
    expect(byName.has("runlater-claim-write")).toBe(false);
    // The admission and the next-due read share the round trips of the take's BEGIN and COMMIT: prepared with SQL
    // PREPARE once on the connection, executed by every take.
    const admit = byName.get("runlater_admit_unqueued");
    expect(admit?.statement).toMatch(/PREPARE runlater_admit_unqueued\(int\) AS UPDATE executions SET admitted_at/);
    expect((admit?.genericPlans ?? 0) + (admit?.customPlans ?? 0)).toBe(7);
    // Without parameters, its one plan serves every take.
    expect(byName.get("runlater_next_due")).toMatchObject({ genericPlans: 7, customPlans: 0 });
    for (const name of ["runlater-settle", "runlater-health-contexts"]) {
      expect(byName.get(name), name).toMatchObject({ customPlans: 0 });
      expect(byName.get(name)?.genericPlans, name).toBeGreaterThanOrEqual(2);
    }
  });

  it("takes on a connection where some of the take's statements are prepared already (PREPARE is not transactional: a batch that failed half way leaves some)", async () => {
    const other = new pg.Pool({ connectionString: services().databaseUrl, max: 1 });
    try {
      await other.query(`PREPARE runlater_next_due AS ${NEXT_DUE_SQL}`);
      await takeAndSettleOne("prepared-before", other);
      const { rows } = await other.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE from_sql ORDER BY name");
      expect(rows.map((row) => row.name)).toEqual(["runlater_admit_unqueued", "runlater_next_due", "runlater_top_up_unqueued"]);
    } finally {
      await other.end();
    }
  });

  it("replaces a connection whose prepared statements were dropped (DEALLOCATE ALL, a pooler's reset): one take fails, the next takes the attempt", async () => {
    const other = new pg.Pool({ connectionString: services().databaseUrl, max: 1 });
    try {
      await takeAndSettleOne("before-deallocate", other);
      await other.query("DEALLOCATE ALL");
      const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/after-deallocate` });
      const taskId = (pushed.body as { id: string }).id;
      const failed = takeDueAttempts(other, services().boss, { batchSize: 10, admission: { kind: "top-up", limit: 10 }, groupConcurrency });
      await expect(failed.jobs).rejects.toMatchObject({ code: "26000" });
      // Rolled back whole: the attempt is neither admitted nor running.
      const { rows } = await other.query<{ status: string; admitted: boolean }>(
        "SELECT status, admitted_at IS NOT NULL AS admitted FROM executions WHERE task_id = $1",
        [taskId],
      );
      expect(rows).toEqual([{ status: "PENDING", admitted: false }]);
      const { jobs, claims } = takeDueAttempts(other, services().boss, {
        batchSize: 10,
        admission: { kind: "top-up", limit: 10 },
        groupConcurrency,
      });
      const [job] = await jobs;
      expect((await claims).get(job?.id as string)?.kind).toBe("claimed");
    } finally {
      await other.end();
    }
  });
});
