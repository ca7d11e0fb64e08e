/**
 * takeDueAttempts: admission, fetch and claim of due attempts in one
 * transaction. Either all of it commits (the attempt RUNNING, its job active)
 * or none of it does: a take that fails leaves the attempt unadmitted and no
 * job behind, active or otherwise, so nothing waits for a heartbeat to expire.
 */
import { afterAll, describe, expect, it } from "vitest";
import { recordAttemptOutcomes, takeDueAttempts } from "../../server/services/attempts.js";
import { DISPATCH_QUEUE } from "../../server/services/dispatch-queue.js";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

// The API alone: the test takes attempts itself, as a worker would.
const runlater = useTestInstance({ role: "server" });
const services = () => runlater.instance.runtime;
const groupConcurrency = { default: 5, tiers: {} };

afterAll(async () => {
  await services().pool.query("DROP FUNCTION IF EXISTS refuse_claims() CASCADE");
  await services().pool.query("DROP FUNCTION IF EXISTS refuse_commit() CASCADE");
});

/** A worker's take: up to ten attempts, admitting the oldest due first. */
function take() {
  return takeDueAttempts(services().pool, services().boss, { batchSize: 10, admission: { kind: "oldest", limit: 10 }, groupConcurrency });
}

async function attemptOf(taskId: string) {
  const { rows } = await services().pool.query<{ id: string; status: string; admitted: boolean; jobState: string | null }>(
    `SELECT e.id, e.status, e.admitted_at IS NOT NULL AS admitted,
            (SELECT state::text FROM pgboss.job WHERE name = $2 AND id = e.id) AS "jobState"
     FROM executions e WHERE e.task_id = $1`,
    [taskId, DISPATCH_QUEUE],
  );
  return rows[0];
}

describe("takeDueAttempts", () => {
  it("admits, fetches and claims a due attempt in one commit", async () => {
    const pushed = await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/take` });
    expect(await attemptOf(pushed.body.id)).toMatchObject({ status: "PENDING", admitted: false, jobState: null });

    const { jobs, claims } = take();
    const fetched = await jobs;
    const claimed = await claims;

    const attempt = await attemptOf(pushed.body.id);
    expect(fetched.map((job) => job.data.executionId)).toEqual([attempt?.id]);
    expect(claimed.get(fetched[0]?.id as string)).toMatchObject({ kind: "claimed", attempt: { executionId: attempt?.id, attempt: 1 } });
    expect(attempt).toMatchObject({ status: "RUNNING", admitted: true, jobState: "active" });
  });

  it("rolls everything back when the claim fails: no job is left active, and the next take succeeds", async () => {
    const pushed = await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/refused` });
    // A trigger that refuses to mark this task's attempts RUNNING makes the claim fail after the fetch.
    await services().pool.query(`
      CREATE FUNCTION refuse_claims() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'RUNNING' AND NEW.task_id = '${pushed.body.id}' THEN RAISE EXCEPTION 'claim refused by the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_claims BEFORE UPDATE ON executions FOR EACH ROW EXECUTE FUNCTION refuse_claims();`);

    const failed = take();
    expect((await failed.jobs).map((job) => job.data.executionId)).toEqual([(await attemptOf(pushed.body.id))?.id]);
    await expect(failed.claims).rejects.toThrow("claim refused by the test");
    expect(await attemptOf(pushed.body.id)).toMatchObject({ status: "PENDING", admitted: false, jobState: null });

    await services().pool.query("DROP FUNCTION refuse_claims() CASCADE");
    const retried = take();
    expect(await retried.jobs).toHaveLength(1);
    await retried.claims;
    expect(await attemptOf(pushed.body.id)).toMatchObject({ status: "RUNNING", admitted: true, jobState: "active" });
  });

  it("rolls everything back when the commit itself fails (its round trip also reads the next due attempt)", async () => {
    const pushed = await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/commit` });
    // A deferred constraint trigger runs at COMMIT: every statement before it succeeds, the commit fails.
    await services().pool.query(`
      CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'RUNNING' AND NEW.task_id = '${pushed.body.id}' THEN RAISE EXCEPTION 'commit refused by the test'; END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER refuse_commit AFTER UPDATE ON executions DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_commit();`);

    // A short take (one job for a batch of ten): its COMMIT shares a round trip with the next-due read.
    const failed = take();
    expect(await failed.jobs).toHaveLength(1);
    await expect(failed.claims).rejects.toThrow("commit refused by the test");
    await expect(failed.nextDue).rejects.toThrow("commit refused by the test");
    expect(await attemptOf(pushed.body.id)).toMatchObject({ status: "PENDING", admitted: false, jobState: null });

    await services().pool.query("DROP FUNCTION refuse_commit() CASCADE");
    const retried = take();
    expect(await retried.jobs).toHaveLength(1);
    expect([...(await retried.claims).values()]).toMatchObject([{ kind: "claimed" }]);
    expect(await attemptOf(pushed.body.id)).toMatchObject({ status: "RUNNING", admitted: true, jobState: "active" });
  });

  it("keeps a lost attempt's record when its stalled worker settles it late, and leaves the retry to run", async () => {
    const pushed = await rest<{ id: string }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/stalled` });
    const first = take();
    const [job] = await first.jobs;
    const claim = (await first.claims).get(job?.id as string);
    if (claim?.kind !== "claimed") throw new Error(`expected a claim, got ${JSON.stringify(claim)}`);

    // The worker stalls past its heartbeat: pg-boss's supervisor puts the job back (as it does), another take finds
    // the attempt RUNNING and records it lost, with a retry.
    await services().pool.query("UPDATE pgboss.job SET state = 'retry', start_after = now() WHERE name = $1 AND id = $2", [
      DISPATCH_QUEUE,
      job?.id,
    ]);
    const recovery = take();
    expect([...(await recovery.claims).values()]).toMatchObject([{ kind: "lost" }]);

    // The stalled worker wakes up, its request having succeeded, and settles.
    const [verdict] = await recordAttemptOutcomes(services().pool, services().boss, [
      {
        claimed: { ...claim.attempt, jobId: job?.id as string },
        outcome: { kind: "response", status: 200, headers: {}, body: "ok", bodyTruncated: false, durationMs: 40_000 },
      },
    ]);
    expect(verdict?.kind).toBe("succeeded");
    const { rows } = await services().pool.query<{ attempt: number; status: string; error: string | null }>(
      "SELECT attempt, status, error FROM executions WHERE task_id = $1 ORDER BY attempt",
      [pushed.body.id],
    );
    expect(rows).toMatchObject([
      { attempt: 1, status: "FAILED", error: expect.stringMatching(/attempt lost/) },
      { attempt: 2, status: "PENDING" },
    ]);
    const task = await rest<{ status: string }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
    expect(task.body.status).toBe("SCHEDULED");
  });
});
