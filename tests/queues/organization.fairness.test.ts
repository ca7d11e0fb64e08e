/**
 * Per-organisation fairness: one organisation flooding slow endpoints stays
 * within its concurrency limit, and another organisation's task still starts
 * at once.
 */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";

/** Alice's flood hits /slow, which holds each request 2 s; the sink tracks how many are in flight at once. */
const slow = { inFlight: 0, maxInFlight: 0 };
const runlater = useTestInstance({
  sink: async (request) => {
    if (!request.path.startsWith("/slow")) return { status: 200 };
    slow.inFlight += 1;
    slow.maxInFlight = Math.max(slow.maxInFlight, slow.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    slow.inFlight -= 1;
    return { status: 200 };
  },
});

describe("organisation fairness", () => {
  it("caps alice at her limit and starts bob's task within a second while alice's 5,000-task flood waits", async () => {
    const { bob } = await createPersonas(runlater.database.url);
    // 5,000 due tasks of alice's against a 2 s endpoint: 30 minutes of work at her limit.
    for (let batch = 0; batch < 5; batch++) {
      const tasks = Array.from({ length: 1000 }, (_, index) => ({ url: `${runlater.sink.url}/slow/${batch}-${index}` }));
      const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks });
      expect(answer.status).toBe(201);
    }
    await eventually(async () => slow.inFlight >= 5);
    // The default limit: 5 of alice's attempts in flight at once, however many are due.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(slow.inFlight).toBe(5);
    // The rest of her flood waits as rows, not as pg-boss jobs: at most one take's batch was admitted ahead (pg-boss's
    // fetch reads every waiting job of an organisation at its limit before passing over it).
    const admitted = await runlater.instance.runtime.pool.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM executions WHERE status = 'PENDING' AND admitted_at IS NOT NULL",
    );
    expect(admitted.rows[0]?.count).toBeLessThanOrEqual(100);

    const pushedAt = Date.now();
    await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/bob` });
    const bobs = await eventually(async () => runlater.sink.requests.find((request) => request.path === "/bob"), 5000, 10);
    expect(bobs.receivedAt - pushedAt).toBeLessThan(1000);
    expect(slow.maxInFlight).toBe(5);
  });

  it("applies a raised limit", async () => {
    const answer = await graphql<{ setConcurrencyLimit: { concurrencyLimit: number } }>(
      runlater.instance,
      ALICE_KEY,
      "mutation { setConcurrencyLimit(limit: 20) { concurrencyLimit } }",
    );
    expect(answer.data?.setConcurrencyLimit.concurrencyLimit).toBe(20);
    const invalid = await rest<{ error: { field: string } }>(runlater.instance, ALICE_KEY, "PUT", "/organization/concurrency-limit", {
      limit: 0,
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.field).toBe("limit");
    // Workers re-read limits every 10 s; then up to 20 of alice's slow attempts run at once.
    await eventually(
      async () => {
        const inFlight = await runlater.instance.runtime.pool.query<{ count: number }>(
          "SELECT count(*)::int AS count FROM executions WHERE status = 'RUNNING'",
        );
        return (inFlight.rows[0]?.count ?? 0) > 5;
      },
      20_000,
      200,
    );
  });
});
