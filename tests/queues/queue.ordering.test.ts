/**
 * Queue semantics end to end: concurrency, FIFO order (a retrying task keeps
 * its place), pause and resume, rate limits, draining, and the API.
 */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";
import { type ReceivedRequest, startSink } from "../helpers/sink.js";

/** Each request holds the endpoint for `holdMs`; paths ending in /fail-once fail their first attempt. */
const holdMs = 300;
const runlater = useTestInstance({
  sink: (request) => ({
    status: request.path.endsWith("/fail-once") && request.headers["runlater-attempt"] === "1" ? 500 : 200,
    delayMs: holdMs,
  }),
});

const requestsUnder = (prefix: string): ReceivedRequest[] => runlater.sink.requests.filter((request) => request.path.startsWith(prefix));

async function push(fields: Record<string, unknown>): Promise<string> {
  const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", fields);
  expect(answer.status).toBe(201);
  return answer.body.id as string;
}

async function configure(name: string, settings: Record<string, unknown>) {
  const answer = await rest(runlater.instance, ALICE_KEY, "PATCH", `/queues/${name}`, settings);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Largest number of requests whose [arrival, arrival + holdMs) intervals overlap. */
function maxOverlap(requests: ReceivedRequest[]): number {
  let max = 0;
  for (const request of requests) {
    const concurrent = requests.filter(
      (other) => other.receivedAt <= request.receivedAt && request.receivedAt < other.receivedAt + holdMs - 20,
    );
    max = Math.max(max, concurrent.length);
  }
  return max;
}

describe("queues", () => {
  it("runs a concurrency-1 queue one task at a time, in push order", async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push(await push({ url: `${runlater.sink.url}/fifo/${index}`, queue: "fifo" }));
    await eventually(async () => requestsUnder("/fifo/").length === 5, 15_000);
    const requests = requestsUnder("/fifo/");
    expect(requests.map((request) => request.path)).toEqual(ids.map((_, index) => `/fifo/${index}`));
    for (let index = 1; index < requests.length; index++) {
      expect(requests[index]!.receivedAt).toBeGreaterThanOrEqual(requests[index - 1]!.receivedAt + holdMs);
    }
  });

  it("keeps a retrying task's place: nothing behind it starts until it has finished", async () => {
    await push({ url: `${runlater.sink.url}/retry/first/fail-once`, queue: "retrying", retries: 2 });
    await push({ url: `${runlater.sink.url}/retry/second`, queue: "retrying" });
    await eventually(async () => requestsUnder("/retry/").length === 3, 15_000);
    const requests = requestsUnder("/retry/");
    expect(requests.map((request) => [request.path, request.headers["runlater-attempt"]])).toEqual([
      ["/retry/first/fail-once", "1"],
      ["/retry/first/fail-once", "2"],
      ["/retry/second", "1"],
    ]);
  });

  it("runs up to `concurrency` tasks at once", async () => {
    await configure("wide", { concurrency: 3 });
    for (let index = 0; index < 6; index++) await push({ url: `${runlater.sink.url}/wide/${index}`, queue: "wide" });
    await eventually(async () => requestsUnder("/wide/").length === 6, 15_000);
    expect(maxOverlap(requestsUnder("/wide/"))).toBe(3);
  });

  it("holds a paused queue's tasks and resumes them in order", async () => {
    await configure("held", {});
    const paused = await rest(runlater.instance, ALICE_KEY, "POST", "/queues/held/pause");
    expect(paused.body).toMatchObject({ name: "held", paused: true });
    for (let index = 0; index < 3; index++) await push({ url: `${runlater.sink.url}/held/${index}`, queue: "held" });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(requestsUnder("/held/")).toHaveLength(0);
    const depth = await rest(runlater.instance, ALICE_KEY, "GET", "/queues/held");
    expect(depth.body).toMatchObject({ paused: true, depth: { scheduled: 3, running: 0, failed: 0 } });

    const resumed = await rest(runlater.instance, ALICE_KEY, "POST", "/queues/held/resume");
    expect(resumed.body.paused).toBe(false);
    await eventually(async () => requestsUnder("/held/").length === 3, 15_000);
    expect(requestsUnder("/held/").map((request) => request.path)).toEqual(["/held/0", "/held/1", "/held/2"]);
  });

  it("starts higher priorities first among a queue's waiting tasks", async () => {
    await configure("ranked", {});
    await rest(runlater.instance, ALICE_KEY, "POST", "/queues/ranked/pause");
    for (const [name, priority] of [
      ["low", -5],
      ["high", 10],
      ["default", 0],
      ["higher", 20],
    ] as const) {
      await push({ url: `${runlater.sink.url}/ranked/${name}`, queue: "ranked", priority });
    }
    await rest(runlater.instance, ALICE_KEY, "POST", "/queues/ranked/resume");
    await eventually(async () => requestsUnder("/ranked/").length === 4, 15_000);
    expect(requestsUnder("/ranked/").map((request) => request.path)).toEqual([
      "/ranked/higher",
      "/ranked/high",
      "/ranked/default",
      "/ranked/low",
    ]);
  });

  it("starts at most `rateLimit` tasks per period", async () => {
    await configure("limited", { concurrency: 10, rateLimit: 2, ratePeriodSeconds: 1 });
    for (let index = 0; index < 6; index++) await push({ url: `${runlater.sink.url}/limited/${index}`, queue: "limited" });
    await eventually(async () => requestsUnder("/limited/").length === 6, 15_000);
    const arrivals = requestsUnder("/limited/").map((request) => request.receivedAt);
    for (const arrival of arrivals) {
      // The limit applies to admissions; arrivals add dispatch jitter, so the window checked is a little shorter.
      expect(arrivals.filter((other) => other >= arrival && other < arrival + 700).length).toBeLessThanOrEqual(2);
    }
    // Six starts at two per second span at least two windows.
    expect(arrivals[5]! - arrivals[0]!).toBeGreaterThanOrEqual(1700);
  });

  it("cancels a queue's backlog with DELETE /tasks?queue=", async () => {
    await configure("drained", {});
    await rest(runlater.instance, ALICE_KEY, "POST", "/queues/drained/pause");
    for (let index = 0; index < 3; index++) await push({ url: `${runlater.sink.url}/drained/${index}`, queue: "drained" });
    const cancelled = await rest<number>(runlater.instance, ALICE_KEY, "DELETE", "/tasks?queue=drained");
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toBe(3);
    await rest(runlater.instance, ALICE_KEY, "POST", "/queues/drained/resume");
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(requestsUnder("/drained/")).toHaveLength(0);
  });

  it("leaves a task waiting for its retry out of the backlog it cancels", async () => {
    const flaky = await startSink((request) =>
      request.headers["runlater-attempt"] === "1" ? { status: 503, headers: { "retry-after": "3" } } : { status: 200 },
    );
    try {
      await configure("retrying", { concurrency: 1 });
      const started = await push({ url: `${flaky.url}/started`, queue: "retrying", retries: 2 });
      await flaky.waitForRequests(1);
      await eventually(async () => {
        const { body } = await rest<{ status: string; attempts: number }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${started}`);
        return body.status === "SCHEDULED" && body.attempts === 1;
      });
      const waiting = await push({ url: `${flaky.url}/waiting`, queue: "retrying" });

      const cancelled = await rest<number>(runlater.instance, ALICE_KEY, "DELETE", "/tasks?queue=retrying");
      expect(cancelled.body).toBe(1);
      expect((await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${waiting}`)).body.status).toBe("CANCELLED");
      const retried = await eventually(
        async () => {
          const { body } = await rest<{ status: string }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${started}`);
          return body.status === "SUCCEEDED" ? body : undefined;
        },
        10_000,
        100,
      );
      expect(retried.status).toBe("SUCCEEDED");
    } finally {
      await flaky.close();
    }
  });

  it("lists queues with their depth, and validates settings", async () => {
    const list = await graphql<{ queues: Array<{ name: string; concurrency: number; depth: { scheduled: number } }> }>(
      runlater.instance,
      ALICE_KEY,
      "{ queues { name concurrency rateLimit paused depth { scheduled running failed } } }",
    );
    expect(list.data?.queues.map((queue) => queue.name)).toEqual(expect.arrayContaining(["fifo", "wide", "held", "limited"]));
    expect(list.data?.queues.find((queue) => queue.name === "wide")?.concurrency).toBe(3);

    const invalid = await rest<{ error: { code: string; field: string } }>(runlater.instance, ALICE_KEY, "PATCH", "/queues/wide", {
      concurrency: 0,
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error).toMatchObject({ code: "VALIDATION_FAILED", field: "concurrency" });
    const missing = await rest(runlater.instance, ALICE_KEY, "POST", "/queues/no-such-queue/pause");
    expect(missing.status).toBe(404);
  });

  it("keeps queues per organisation: bob cannot see, pause or drain alice's queues", async () => {
    const { bob } = await createPersonas(runlater.database.url);
    const list = await rest<unknown[]>(runlater.instance, bob.apiKey, "GET", "/queues");
    expect(list.body).toEqual([]);
    expect((await rest(runlater.instance, bob.apiKey, "GET", "/queues/fifo")).status).toBe(404);
    expect((await rest(runlater.instance, bob.apiKey, "POST", "/queues/fifo/pause")).status).toBe(404);
    expect((await rest(runlater.instance, bob.apiKey, "DELETE", "/tasks?queue=held")).body).toBe(0);
    const alices = await rest(runlater.instance, ALICE_KEY, "GET", "/queues/fifo");
    expect(alices.body.paused).toBe(false);
  });
});
