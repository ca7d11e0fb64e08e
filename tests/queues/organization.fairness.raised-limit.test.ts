/**
 * Fairness when an organisation's limit is above what a worker runs at once: its backlog fills every take, and
 * another organisation's new task must still be admitted and started within moments, not after that backlog.
 */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const WORKER_CONCURRENCY = 20;
/** Alice's flood hits /slow, which holds each request this long. */
const SLOW_MS = 300;
const runlater = useTestInstance({
  env: { RUNLATER_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
  sink: async (request) => {
    if (request.path.startsWith("/slow")) await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    return { status: 200 };
  },
});

async function runningCount(): Promise<number> {
  const { rows } = await runlater.instance.runtime.pool.query<{ count: number }>(
    "SELECT count(*)::int AS count FROM executions WHERE status = 'RUNNING'",
  );
  return rows[0]?.count ?? 0;
}

describe("organisation fairness above the workers' concurrency", () => {
  it("starts bob's task within seconds while alice, limited to 1,000, floods every place of the worker", async () => {
    const { bob } = await createPersonas(runlater.database.url);
    const raised = await graphql(runlater.instance, ALICE_KEY, "mutation { setConcurrencyLimit(limit: 1000) { concurrencyLimit } }");
    expect(raised.errors).toBeUndefined();
    // 4,000 due tasks of alice's: 60 s of work with every place of the worker hers.
    for (let batch = 0; batch < 4; batch++) {
      const tasks = Array.from({ length: 1000 }, (_, index) => ({ url: `${runlater.sink.url}/slow/${batch}-${index}` }));
      expect((await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks })).status).toBe(201);
    }
    // Workers re-read limits every 10 s: wait until alice's raised limit fills the worker.
    await eventually(async () => (await runningCount()) >= WORKER_CONCURRENCY, 20_000, 100);

    const pushedAt = Date.now();
    await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/bob` });
    const bobs = await eventually(async () => runlater.sink.requests.find((request) => request.path === "/bob"), 15_000, 20);
    // Admitted at the next fair top-up, then behind at most the attempts the worker had already fetched.
    expect(bobs.receivedAt - pushedAt).toBeLessThan(3000);
    const { rows } = await runlater.instance.runtime.pool.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM executions WHERE status = 'PENDING'",
    );
    expect(rows[0]?.count, "alice's flood was still waiting").toBeGreaterThan(2000);
  });
});
