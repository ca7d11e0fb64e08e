/**
 * The dispatch queue's settings follow the configuration of the workers that start on it: its heartbeat decides when a
 * running attempt counts as lost, and a worker touches its jobs every third of its own RUNLATER_JOB_HEARTBEAT_SECONDS.
 */
import { describe, expect, it } from "vitest";
import { DISPATCH_QUEUE, ensureDispatchQueue, insertDispatchJobs } from "../../server/services/dispatch-queue.js";
import { useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ env: { RUNLATER_JOB_HEARTBEAT_SECONDS: "30" } });

describe("the dispatch queue's heartbeat", () => {
  it("is the workers' setting after a change, whichever process started first, and new jobs carry it", async () => {
    const { boss, pool } = runlater.instance.runtime;
    expect((await boss.getQueue(DISPATCH_QUEUE))?.heartbeatSeconds).toBe(30);

    // Workers restarted with a longer heartbeat: jobs must not expire before they are touched.
    await ensureDispatchQueue(boss, { heartbeatSeconds: 120, ownsHeartbeat: true });
    expect((await boss.getQueue(DISPATCH_QUEUE))?.heartbeatSeconds).toBe(120);
    // A server process (no worker) with another value leaves it alone.
    await ensureDispatchQueue(boss, { heartbeatSeconds: 30, ownsHeartbeat: false });
    expect((await boss.getQueue(DISPATCH_QUEUE))?.heartbeatSeconds).toBe(120);

    const { rows: organizations } = await pool.query<{ id: string }>("SELECT id FROM organizations LIMIT 1");
    const jobId = "01900000-0000-7000-8000-000000000001";
    await insertDispatchJobs(boss, pool, [
      { executionId: jobId, organizationId: organizations[0]?.id as string, runAt: new Date(Date.now() + 3_600_000) },
    ]);
    const { rows } = await pool.query<{ heartbeat: number }>("SELECT heartbeat_seconds AS heartbeat FROM pgboss.job WHERE id = $1", [
      jobId,
    ]);
    expect(rows).toEqual([{ heartbeat: 120 }]);
    await boss.deleteJob(DISPATCH_QUEUE, [jobId]);
  });
});
