/**
 * The per-organisation, per-host circuit breaker: repeated server errors
 * pause a host (and say why); a 429 pauses it for its Retry-After; other
 * hosts and other organisations are unaffected; a success closes it.
 */
import { describe, expect, it } from "vitest";
import { breakerPolicy } from "../../server/services/target-breakers.js";
import { ALICE_KEY, createPersonas, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

const runlater = useTestInstance();

type Execution = { status: string; scheduledFor: string; waitingReason: string | null };

async function executionsOf(apiKey: string, taskId: string): Promise<Execution[]> {
  const { body } = await rest<{ edges: Array<{ node: Execution }> }>(runlater.instance, apiKey, "GET", `/tasks/${taskId}/executions`);
  return body.edges.map((edge) => edge.node);
}

async function settled(apiKey: string, taskId: string) {
  return eventually(async () => {
    const { body } = await rest(runlater.instance, apiKey, "GET", `/tasks/${taskId}`);
    return ["SUCCEEDED", "FAILED"].includes(body.status as string) ? body : undefined;
  });
}

describe("target circuit breaker", () => {
  it("opens after repeated 5xx, defers the host's next attempt with a reason, and leaves other hosts and organisations alone", async () => {
    let healthy = false;
    const failing: Sink = await startSink(() => ({ status: healthy ? 200 : 503 }));
    const other = await startSink();
    try {
      for (let index = 0; index < breakerPolicy.failureThreshold; index++) {
        const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${failing.url}/down`, retries: 0 });
        await settled(ALICE_KEY, pushed.body.id as string);
      }
      healthy = true;
      const before = failing.requests.length;
      const waiting = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${failing.url}/later` });
      const waitingId = waiting.body.id as string;
      const [deferred] = await eventually(async () => {
        const executions = await executionsOf(ALICE_KEY, waitingId);
        return executions[0]?.waitingReason ? executions : undefined;
      });
      expect(deferred!.status).toBe("PENDING");
      expect(deferred!.waitingReason).toMatch(/circuit breaker open.*503.*5 failures in a row/);
      expect(new Date(deferred!.scheduledFor).getTime()).toBeGreaterThan(Date.now());
      expect(failing.requests.length).toBe(before);

      // Another host, and another organisation calling the same host, run at once.
      const elsewhere = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: other.url });
      expect((await settled(ALICE_KEY, elsewhere.body.id as string)).status).toBe("SUCCEEDED");
      const { bob } = await createPersonas(runlater.database.url);
      const bobs = await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: `${failing.url}/bob` });
      expect((await settled(bob.apiKey, bobs.body.id as string)).status).toBe("SUCCEEDED");

      // After the pause (5 s for a first opening) the deferred attempt runs, as attempt 1, and closes the breaker.
      const task = await eventually(
        async () => {
          const { body } = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${waitingId}`);
          return body.status === "SUCCEEDED" ? body : undefined;
        },
        15_000,
        100,
      );
      expect(task.attempts).toBe(1);
      const breakers = await runlater.instance.runtime.pool.query("SELECT * FROM target_breakers WHERE host = $1", [
        new URL(failing.url).host,
      ]);
      expect(breakers.rowCount).toBe(0);
    } finally {
      await failing.close();
      await other.close();
    }
  }, 40_000);

  it("pauses a host that answers 429 for its Retry-After", async () => {
    const limited = await startSink((_request, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200 },
    );
    try {
      const first = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${limited.url}/a`, retries: 0 });
      await settled(ALICE_KEY, first.body.id as string);
      const second = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${limited.url}/b` });
      await settled(ALICE_KEY, second.body.id as string);
      const [tooMany, next] = limited.requests;
      expect(next!.receivedAt - tooMany!.receivedAt).toBeGreaterThanOrEqual(1900);
      const answer = await graphql<{ task: { executions: { edges: Array<{ node: { waitingReason: string | null } }> } } }>(
        runlater.instance,
        ALICE_KEY,
        `query($id: ID!) { task(id: $id) { executions { edges { node { waitingReason } } } } }`,
        { id: second.body.id },
      );
      expect(answer.data?.task.executions.edges[0]?.node.waitingReason).toMatch(/429/);
    } finally {
      await limited.close();
    }
  });
});
