/**
 * The failure inbox: failedTasks, retryTasks, retryAllFailed and
 * replayExecution, against a loopback endpoint that is down, then healthy;
 * alice's inbox is hers alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase } from "../helpers/database.js";
import { createPersonas, eventually, graphql, type Persona, rest, startTestInstance } from "../helpers/runlater.js";
import { type Sink, type SinkAnswer, startSink } from "../helpers/sink.js";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let instance: RunningInstance;
let alice: Persona;
let bob: Persona;
const sinks: Sink[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await startTestInstance(database.url);
  ({ alice, bob } = await createPersonas(database.url));
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
  await instance?.stop();
  await database?.drop();
});

/** An endpoint that answers 503 until `heal()`, then as `healthy` says (200 by default). */
async function flakySink(healthy: SinkAnswer[] = [{ status: 200, body: "ok" }]) {
  let healedAt: number | null = null;
  const sink = await startSink((_request, index) =>
    healedAt === null ? { status: 503, body: "down" } : healthy[Math.min(index - healedAt, healthy.length - 1)]!,
  );
  sinks.push(sink);
  return Object.assign(sink, { heal: () => (healedAt = sink.requests.length) });
}

type Task = { id: string; status: string; attempts: number; retries: number; queue: string | null; completedAt: string | null };
type Execution = { id: string; attempt: number; status: string; responseStatus: number | null };

async function push(persona: Persona, fields: Record<string, unknown>): Promise<string> {
  const pushed = await rest<Task>(instance, persona.apiKey, "POST", "/tasks", fields);
  expect(pushed.status).toBe(201);
  return pushed.body.id;
}

async function settled(persona: Persona, id: string, statuses = ["SUCCEEDED", "FAILED"]): Promise<Task> {
  return eventually(async () => {
    const { body } = await rest<Task>(instance, persona.apiKey, "GET", `/tasks/${id}`);
    return statuses.includes(body.status) ? body : undefined;
  }, 20_000);
}

async function executionsOf(persona: Persona, id: string): Promise<Execution[]> {
  const { body } = await rest<{ edges: Array<{ node: Execution }> }>(instance, persona.apiKey, "GET", `/tasks/${id}/executions`);
  return body.edges.map((edge) => edge.node);
}

async function pushFailed(persona: Persona, fields: Record<string, unknown>): Promise<Task> {
  const task = await settled(persona, await push(persona, { retries: 0, ...fields }));
  expect(task.status).toBe("FAILED");
  return task;
}

async function failedTasks(persona: Persona, query = ""): Promise<string[]> {
  const answer = await rest<{ edges: Array<{ node: Task }> }>(instance, persona.apiKey, "GET", `/failed-tasks${query}`);
  expect(answer.status).toBe(200);
  return answer.body.edges.map((edge) => edge.node.id);
}

describe("failedTasks", () => {
  it("lists FAILED tasks, most recently failed first, filtered by queue and time of failure", async () => {
    const sink = await flakySink();
    const first = await pushFailed(alice, { url: sink.url, queue: "inbox-billing" });
    const second = await pushFailed(alice, { url: sink.url });
    const third = await pushFailed(alice, { url: sink.url, queue: "inbox-billing" });
    const scheduled = await settled(alice, await push(alice, { url: "http://127.0.0.1:1/unused", delay: "1d" }), ["SCHEDULED"]);

    const all = await failedTasks(alice);
    expect(all).toEqual(expect.arrayContaining([first.id, second.id, third.id]));
    expect(all).not.toContain(scheduled.id);
    expect(all.indexOf(third.id)).toBeLessThan(all.indexOf(second.id));
    expect(all.indexOf(second.id)).toBeLessThan(all.indexOf(first.id));

    expect(await failedTasks(alice, "?queue=inbox-billing")).toEqual([third.id, first.id]);
    const since = encodeURIComponent(second.completedAt!);
    expect(await failedTasks(alice, `?since=${since}`)).toEqual([third.id, second.id]);
    expect(await failedTasks(alice, `?until=${since}`)).toEqual(all.filter((id) => ![third.id, second.id].includes(id)));
    expect(await failedTasks(alice, `?queue=inbox-billing&since=${since}`)).toEqual([third.id]);

    const paged = await graphql<{ failedTasks: { edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string } } }>(
      instance,
      alice.apiKey,
      `query ($after: String) { failedTasks(queue: "inbox-billing", first: 1, after: $after) { edges { node { id } } pageInfo { endCursor } } }`,
    );
    expect(paged.data?.failedTasks.edges.map((edge) => edge.node.id)).toEqual([third.id]);
    const next = await graphql<{ failedTasks: { edges: Array<{ node: { id: string } }> } }>(
      instance,
      alice.apiKey,
      `query ($after: String) { failedTasks(queue: "inbox-billing", first: 1, after: $after) { edges { node { id } } } }`,
      { after: paged.data?.failedTasks.pageInfo.endCursor },
    );
    expect(next.data?.failedTasks.edges.map((edge) => edge.node.id)).toEqual([first.id]);

    const invalid = await rest<{ error: { code: string; field: string } }>(instance, alice.apiKey, "GET", "/failed-tasks?since=yesterday");
    expect(invalid.status).toBe(422);
    expect(invalid.body.error).toMatchObject({ code: "VALIDATION_FAILED", field: "since" });

    expect(await failedTasks(bob)).toEqual([]);
  });
});

describe("retryTasks", () => {
  it("re-runs a FAILED task as a new run with its full retry budget, attempts counted from 1", async () => {
    // Down for the two attempts of the first run, then one more 503 before it answers 200.
    const sink = await flakySink([{ status: 503, body: "still warming up" }, { status: 200 }]);
    const failed = await pushFailed(alice, { url: sink.url, retries: 1 });
    expect(failed).toMatchObject({ attempts: 2, retries: 1 });
    sink.heal();

    const retried = await rest<Task[]>(instance, alice.apiKey, "POST", "/tasks/retry", { ids: [failed.id] });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual([expect.objectContaining({ id: failed.id, status: "SCHEDULED", retries: 1, completedAt: null })]);

    // The re-run's first attempt fails (503) and is retried within its own budget; its second succeeds.
    const task = await settled(alice, failed.id);
    expect(task).toMatchObject({ status: "SUCCEEDED", attempts: 2, retries: 1 });
    expect((await executionsOf(alice, failed.id)).map((execution) => [execution.attempt, execution.status])).toEqual([
      [1, "FAILED"],
      [2, "FAILED"],
      [1, "FAILED"],
      [2, "SUCCEEDED"],
    ]);
    expect(sink.requests.map((request) => request.headers["runlater-attempt"])).toEqual(["1", "2", "1", "2"]);
    expect(await failedTasks(alice)).not.toContain(failed.id);
  });

  it("gives each re-run the same budget and leaves the task's settings unchanged", async () => {
    const sink = await flakySink();
    const failed = await pushFailed(alice, { url: sink.url, retries: 0 });
    for (let rerun = 0; rerun < 2; rerun++) {
      const retried = await rest<Task[]>(instance, alice.apiKey, "POST", "/tasks/retry", { ids: [failed.id] });
      expect(retried.body[0]).toMatchObject({ status: "SCHEDULED", retries: 0 });
      expect((await settled(alice, failed.id)).status).toBe("FAILED");
    }
    // retries 0: one attempt per run.
    expect((await executionsOf(alice, failed.id)).map((execution) => [execution.attempt, execution.status])).toEqual([
      [1, "FAILED"],
      [1, "FAILED"],
      [1, "FAILED"],
    ]);
  });

  it("is all or nothing: a task that is not FAILED is a 409 naming it, and nothing is re-run", async () => {
    const sink = await flakySink();
    const failed = await pushFailed(alice, { url: sink.url });
    const scheduled = await push(alice, { url: sink.url, delay: "1d" });
    const answer = await rest<{ error: { code: string; message: string } }>(instance, alice.apiKey, "POST", "/tasks/retry", {
      ids: [failed.id, scheduled],
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("CONFLICT");
    expect(answer.body.error.message).toContain(scheduled);
    expect((await rest<Task>(instance, alice.apiKey, "GET", `/tasks/${failed.id}`)).body.status).toBe("FAILED");
  });

  it("answers 404 for another organisation's task, which stays FAILED", async () => {
    const sink = await flakySink();
    const alicesTask = await pushFailed(alice, { url: sink.url });
    const answer = await rest<{ error: { code: string } }>(instance, bob.apiKey, "POST", "/tasks/retry", { ids: [alicesTask.id] });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
    const viaGraphQL = await graphql(instance, bob.apiKey, "mutation ($ids: [ID!]!) { retryTasks(ids: $ids) { id } }", {
      ids: [alicesTask.id],
    });
    expect(viaGraphQL.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await rest<Task>(instance, alice.apiKey, "GET", `/tasks/${alicesTask.id}`)).body.status).toBe("FAILED");
  });
});

describe("retryAllFailed", () => {
  it("re-runs every FAILED task of a queue, then of the organisation, and never another organisation's", async () => {
    const sink = await flakySink();
    const inQueue = [
      await pushFailed(alice, { url: sink.url, queue: "retry-all" }),
      await pushFailed(alice, { url: sink.url, queue: "retry-all" }),
    ];
    const elsewhere = await pushFailed(alice, { url: sink.url, queue: "retry-all-other" });
    const bobs = await pushFailed(bob, { url: sink.url, queue: "retry-all" });
    sink.heal();

    const byQueue = await rest<number>(instance, alice.apiKey, "POST", "/tasks/retry-all-failed", { queue: "retry-all" });
    expect(byQueue).toMatchObject({ status: 200, body: 2 });
    for (const task of inQueue) expect((await settled(alice, task.id)).status).toBe("SUCCEEDED");
    expect((await rest<Task>(instance, alice.apiKey, "GET", `/tasks/${elsewhere.id}`)).body.status).toBe("FAILED");
    expect((await rest<Task>(instance, bob.apiKey, "GET", `/tasks/${bobs.id}`)).body.status).toBe("FAILED");

    const remaining = (await failedTasks(alice)).length;
    expect(remaining).toBeGreaterThan(0);
    const everything = await graphql<{ retryAllFailed: number }>(instance, alice.apiKey, "mutation { retryAllFailed }");
    expect(everything.data?.retryAllFailed).toBe(remaining);
    expect((await settled(alice, elsewhere.id)).status).toBe("SUCCEEDED");
    expect((await rest<Task>(instance, bob.apiKey, "GET", `/tasks/${bobs.id}`)).body.status).toBe("FAILED");
  });
});

describe("replayExecution", () => {
  it("re-sends exactly the same request as a new task, recorded as its execution", async () => {
    const sink = await flakySink();
    sink.heal();
    const original = await settled(
      alice,
      await push(alice, {
        url: `${sink.url}/orders/42?source=shop`,
        method: "PUT",
        headers: { "X-Source": "shop", Authorization: "Bearer downstream" },
        body: { order: 42, items: ["a", "b"] },
      }),
    );
    expect(original.status).toBe("SUCCEEDED");
    const [execution] = await executionsOf(alice, original.id);

    const replayed = await rest<Execution & { taskId: string }>(instance, alice.apiKey, "POST", `/executions/${execution!.id}/replay`);
    expect(replayed.status).toBe(201);
    expect(replayed.body).toMatchObject({ attempt: 1 });
    expect(replayed.body.taskId).not.toBe(original.id);

    const [first, second] = await sink.waitForRequests(2);
    const withoutMetadata = (headers: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith("runlater-")));
    expect({ method: second!.method, path: second!.path, body: second!.body, headers: withoutMetadata(second!.headers) }).toEqual({
      method: first!.method,
      path: first!.path,
      body: first!.body,
      headers: withoutMetadata(first!.headers),
    });
    expect(first).toMatchObject({ method: "PUT", path: "/orders/42?source=shop" });
    expect(second!.headers["runlater-execution-id"]).toBe(replayed.body.id);

    const replay = await settled(alice, replayed.body.taskId);
    expect(replay).toMatchObject({ status: "SUCCEEDED", sourceTaskId: original.id, retries: 0 });
    expect(await executionsOf(alice, replay.id)).toEqual([expect.objectContaining({ id: replayed.body.id, status: "SUCCEEDED" })]);
    // The replayed task is left as it was.
    expect((await rest<Task>(instance, alice.apiKey, "GET", `/tasks/${original.id}`)).body).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
    });
  });

  it("refuses an execution that sent nothing (409) and another organisation's execution (404)", async () => {
    const later = await push(alice, { url: "https://example.com/later", delay: "1d" });
    const [pending] = await executionsOf(alice, later);
    const notSent = await rest<{ error: { code: string; message: string } }>(
      instance,
      alice.apiKey,
      "POST",
      `/executions/${pending!.id}/replay`,
    );
    expect(notSent.status).toBe(409);
    expect(notSent.body.error.message).toContain(pending!.id);

    const sink = await flakySink();
    const alicesTask = await pushFailed(alice, { url: sink.url });
    const [alicesExecution] = await executionsOf(alice, alicesTask.id);
    const requestsBefore = sink.requests.length;
    const answer = await rest<{ error: { code: string } }>(instance, bob.apiKey, "POST", `/executions/${alicesExecution!.id}/replay`);
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sink.requests).toHaveLength(requestsBefore);
  });
});
