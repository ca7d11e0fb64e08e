/**
 * The per-organisation, per-host circuit breaker: repeated server errors
 * pause a host (and say why); a 429 pauses it for its Retry-After; other
 * hosts and other organisations are unaffected; a success closes it. A
 * deferred attempt is carried by a new job, which triggering, editing and
 * cancelling its task act on.
 */
import { describe, expect, it } from "vitest";
import { breakerPolicy, recordTargetOutcome } from "../../server/services/target-breakers.js";
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

  it("runs a deferred task at once when triggered after its breaker closed early", async () => {
    // A failure makes the host tracked; a slow request in flight then outlives a 429's long pause and, succeeding,
    // closes the breaker while the deferred attempt's job is still due at the pause's end.
    const host = await startSink((request) => {
      if (request.path === "/fail") return { status: 503 };
      if (request.path === "/slow") return { status: 200, delayMs: 1500 };
      if (request.path === "/limit") return { status: 429, headers: { "retry-after": "120" } };
      return { status: 200 };
    });
    try {
      const { bob } = await createPersonas(runlater.database.url);
      const push = async (path: string, retries = 0) =>
        (await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: `${host.url}${path}`, retries })).body.id as string;
      await settled(bob.apiKey, await push("/fail"));
      const slow = await push("/slow");
      await eventually(async () => host.requests.some((request) => request.path === "/slow"));
      await settled(bob.apiKey, await push("/limit"));
      const later = await push("/later", 3);
      await eventually(async () => ((await executionsOf(bob.apiKey, later))[0]?.waitingReason ? true : undefined));
      expect((await settled(bob.apiKey, slow)).status).toBe("SUCCEEDED");

      const triggered = await rest(runlater.instance, bob.apiKey, "POST", `/tasks/${later}/trigger`);
      expect(triggered.status).toBe(200);
      const task = await settled(bob.apiKey, later);
      expect(task.status).toBe("SUCCEEDED");
      expect(host.requests.filter((request) => request.path === "/later")).toHaveLength(1);
    } finally {
      await host.close();
    }
  }, 30_000);

  it("defers a triggered task again while its breaker is open, without holding its organisation's other tasks back", async () => {
    const limited = await startSink((request) =>
      request.path === "/limit" ? { status: 429, headers: { "retry-after": "120" } } : { status: 200 },
    );
    const other = await startSink();
    try {
      const { bob } = await createPersonas(runlater.database.url);
      // One attempt at a time: an attempt wrongly counted as waiting to start would hold every other one back.
      expect((await rest(runlater.instance, bob.apiKey, "PUT", "/organization/concurrency-limit", { limit: 1 })).status).toBe(200);
      const push = async (url: string, retries = 0) =>
        (await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url, retries })).body.id as string;
      await settled(bob.apiKey, await push(`${limited.url}/limit`));
      const later = await push(`${limited.url}/later`, 3);
      const [first] = await eventually(async () => {
        const executions = await executionsOf(bob.apiKey, later);
        return executions[0]?.waitingReason ? executions : undefined;
      });
      const breakerEnd = new Date(first!.scheduledFor).getTime();
      expect(breakerEnd).toBeGreaterThan(Date.now() + 60_000);

      expect((await rest(runlater.instance, bob.apiKey, "POST", `/tasks/${later}/trigger`)).status).toBe(200);
      // Its claim finds the breaker still open and defers it to the breaker's end again: due time and job agree.
      await eventually(async () => {
        const [execution] = await executionsOf(bob.apiKey, later);
        return execution && new Date(execution.scheduledFor).getTime() >= breakerEnd - 1000 ? execution : undefined;
      });
      const elsewhere = await push(other.url);
      expect((await settled(bob.apiKey, elsewhere)).status).toBe("SUCCEEDED");
      expect(limited.requests.filter((request) => request.path === "/later")).toHaveLength(0);

      // The deferred task can still be edited (its job, not the completed first one, takes the new due time)…
      const edited = await rest(runlater.instance, bob.apiKey, "PATCH", `/tasks/${later}`, { name: "edited while deferred" });
      expect(edited.status).toBe(200);
      expect(edited.body.name).toBe("edited while deferred");
      // …and cancelling it cancels the job that carries it.
      expect((await rest(runlater.instance, bob.apiKey, "DELETE", `/tasks/${later}`)).status).toBe(200);
      const { rows } = await runlater.instance.runtime.pool.query<{ state: string }>(
        `SELECT j.state FROM executions e JOIN pgboss.job j ON j.id = e.deferred_job_id WHERE e.task_id = $1`,
        [later],
      );
      expect(rows.map((row) => row.state)).toEqual(["cancelled"]);
    } finally {
      await limited.close();
      await other.close();
    }
  }, 30_000);

  it("keeps recording failures and opening for the longest pause after many openings", async () => {
    const down = await startSink(() => ({ status: 503 }));
    try {
      const { bob } = await createPersonas(runlater.database.url);
      // A host down for days: its breaker has opened 60 times, and four failures are counted towards the next opening.
      await runlater.instance.runtime.pool.query(
        `INSERT INTO target_breakers (organization_id, host, consecutive_failures, openings, updated_at) VALUES ($1, $2, 4, 60, now())`,
        [bob.organizationId, new URL(down.url).host],
      );
      const pushed = await rest(runlater.instance, bob.apiKey, "POST", "/tasks", { url: down.url, retries: 0 });
      const task = await settled(bob.apiKey, pushed.body.id as string);
      expect(task.status).toBe("FAILED");
      const [execution] = await eventually(async () => {
        const { body } = await rest<{ edges: Array<{ node: { status: string; responseStatus: number | null } }> }>(
          runlater.instance,
          bob.apiKey,
          "GET",
          `/tasks/${pushed.body.id}/executions`,
        );
        return body.edges.length ? body.edges.map((edge) => edge.node) : undefined;
      });
      // Recorded as what happened (a 503), not as an attempt lost after its settle failed.
      expect(execution).toMatchObject({ status: "FAILED", responseStatus: 503 });
      const { rows } = await runlater.instance.runtime.pool.query<{ pause: number }>(
        "SELECT extract(epoch FROM open_until - updated_at) AS pause FROM target_breakers WHERE organization_id = $1",
        [bob.organizationId],
      );
      expect(Number(rows[0]?.pause)).toBeCloseTo(breakerPolicy.maxPauseMs / 1000, -1);
    } finally {
      await down.close();
    }
  });

  it("counts connection failures, but not requests aborted by a worker's shutdown or lost with a worker", async () => {
    const { bob } = await createPersonas(runlater.database.url);
    const pool = runlater.instance.runtime.pool;
    const failure = (code: string) => ({ kind: "network-error" as const, durationMs: 1, error: code, code });
    for (const code of ["ABORTED", "WORKER_LOST"]) {
      await recordTargetOutcome(pool, bob.organizationId, "https://shutdown.example/", failure(code), { tracked: false });
    }
    const counted = async () =>
      (await pool.query("SELECT consecutive_failures FROM target_breakers WHERE organization_id = $1", [bob.organizationId])).rows;
    expect(await counted()).toEqual([]);
    await recordTargetOutcome(pool, bob.organizationId, "https://shutdown.example/", failure("ECONNREFUSED"), { tracked: false });
    expect(await counted()).toEqual([{ consecutive_failures: 1 }]);
  });
});
