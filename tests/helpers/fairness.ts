/**
 * Fairness when an organisation's limit is above what a worker runs at once: its backlog fills every take, and
 * another organisation's new task must still be admitted and started within moments, not after that backlog.
 */
import { expect } from "vitest";
import { ALICE_KEY, createPersonas, eventually, graphql, rest, type TestInstanceContext, useTestInstance } from "./runlater.js";

const WORKER_CONCURRENCY = 20;
/** Alice's flood hits /slow, which holds each request this long. */
const SLOW_MS = 300;

/** An instance whose worker runs 20 attempts at once, and whose sink answers /slow/… after 300 ms. */
export function useFloodableInstance(): TestInstanceContext {
  return useTestInstance({
    env: { RUNLATER_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
    sink: async (request) => {
      if (request.path.startsWith("/slow")) await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      return { status: 200 };
    },
  });
}

async function countByStatus(runlater: TestInstanceContext, status: "PENDING" | "RUNNING"): Promise<number> {
  const { rows } = await runlater.instance.runtime.pool.query<{ count: number }>(
    "SELECT count(*)::int AS count FROM executions WHERE status = $1",
    [status],
  );
  return rows[0]?.count ?? 0;
}

/**
 * Raises alice's limit to 1,000, fills the worker with 4,000 of her slow tasks (with `queue`: in that queue, given
 * room for 1,000 at once), then answers how long bob's one task took from push to request, in ms.
 */
export async function bobsWaitBehindAlicesFlood(runlater: TestInstanceContext, queue?: string): Promise<number> {
  const { bob } = await createPersonas(runlater.database.url);
  const raised = await graphql(runlater.instance, ALICE_KEY, "mutation { setConcurrencyLimit(limit: 1000) { concurrencyLimit } }");
  expect(raised.errors).toBeUndefined();
  if (queue) {
    expect((await rest(runlater.instance, ALICE_KEY, "PATCH", `/queues/${queue}`, { concurrency: 1000 })).status).toBe(200);
  }
  // 4,000 due tasks of alice's: 60 s of work with every place of the worker hers.
  for (let batch = 0; batch < 4; batch++) {
    const tasks = Array.from({ length: 1000 }, (_, index) => ({ url: `${runlater.sink.url}/slow/${batch}-${index}`, queue }));
    expect((await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks })).status).toBe(201);
  }
  // Workers re-read limits every 10 s: wait until alice's raised limit fills the worker.
  await eventually(async () => (await countByStatus(runlater, "RUNNING")) >= WORKER_CONCURRENCY, 20_000, 100);

  const pushedAt = Date.now();
  await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/bob` });
  const bobs = await eventually(async () => runlater.sink.requests.find((request) => request.path === "/bob"), 15_000, 20);
  expect(await countByStatus(runlater, "PENDING"), "alice's flood was still waiting").toBeGreaterThan(2000);
  return bobs.receivedAt - pushedAt;
}
