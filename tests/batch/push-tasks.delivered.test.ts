/** Batch push: tasks created in order, merged over defaults, and delivered. */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();

type TaskAnswer = Record<string, unknown> & { id: string };

const TASK_FIELDS = `id type name queue status url method headers body bodyEncoding retries timeoutMs runAt attempts priority
  cron timezone nextRunAt paused catchUp overlap runs callbackUrl callbackOn onFailureUrl sourceTaskId debounceKey throttleKey
  createdAt updatedAt completedAt`;

/** pushTasks over GraphQL, answering every field of the tasks (REST answers their ids). */
async function pushBatch(tasks: unknown[], defaults?: Record<string, unknown>): Promise<TaskAnswer[]> {
  const answer = await graphql<{ pushTasks: { tasks: TaskAnswer[] } }>(
    runlater.instance,
    ALICE_KEY,
    `mutation($tasks: [PushTaskInput!]!, $defaults: PushTaskInput) { pushTasks(tasks: $tasks, defaults: $defaults) { tasks { ${TASK_FIELDS} } } }`,
    { tasks, defaults },
  );
  expect(answer.errors).toBeUndefined();
  return answer.data?.pushTasks.tasks ?? [];
}

async function countRows(sql: string, values: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: runlater.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: number }>(sql, values);
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

describe("POST /api/v1/tasks/batch", () => {
  it("creates 1,000 tasks in the order given, answers them in that order, and delivers every one", async () => {
    // Deliveries of one organisation are capped (5 in flight by default); lift the cap so the test is quick.
    await graphql(runlater.instance, ALICE_KEY, "mutation { setConcurrencyLimit(limit: 100) { id } }");
    const tasks = Array.from({ length: 1000 }, (_, index) => ({ url: `${runlater.sink.url}/item/${index}`, body: { index } }));
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks, defaults: { retries: 1 } });
    expect(answer.status).toBe(201);
    const { ids } = answer.body;
    expect(ids).toHaveLength(1000);
    expect([...ids].sort()).toEqual(ids);
    for (const index of [0, 1, 500, 999]) {
      const task = await rest<TaskAnswer>(runlater.instance, ALICE_KEY, "GET", `/tasks/${ids[index]}`);
      expect(task.body).toMatchObject({ url: `${runlater.sink.url}/item/${index}`, retries: 1 });
    }
    expect(await countRows("SELECT count(*) FROM executions WHERE task_id = ANY($1::uuid[]) AND attempt = 1", [ids])).toBe(1000);

    const received = await runlater.sink.waitForRequests(1000, 60_000);
    const paths = new Set(received.map((request) => request.path));
    expect(paths.size).toBe(1000);
    for (const index of [0, 1, 499, 998, 999]) {
      const request = received.find((candidate) => candidate.path === `/item/${index}`);
      expect(JSON.parse(request?.body ?? "null")).toEqual({ index });
      expect(request?.headers["runlater-task-id"]).toBe(ids[index]);
    }
  }, 90_000);

  it("merges each task over the defaults: its own fields win, headers merge by name, its timing replaces the defaults'", async () => {
    const runAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 86_400_000).toISOString();
    const [first, second, third, fourth] = await pushBatch(
      [
        {},
        { url: "https://example.com/own", headers: { "x-trace": "own" }, retries: 2, runAt, priority: -3 },
        { method: "DELETE", name: "third" },
        { bodyBase64: "AAEC/w==" },
      ],
      {
        url: "https://example.com/default",
        method: "PUT",
        headers: { "X-Tenant": "acme", "X-Trace": "default" },
        delay: "1h",
        retries: 7,
        queue: "imports",
        priority: 5,
        body: "default text",
      },
    );
    expect(first).toMatchObject({ url: "https://example.com/default", method: "PUT", retries: 7, queue: "imports", priority: 5 });
    expect(first?.headers).toEqual({ "X-Tenant": "acme", "X-Trace": "default" });
    expect(new Date(String(first?.runAt)).getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    expect(second).toMatchObject({ url: "https://example.com/own", retries: 2, priority: -3, runAt });
    expect(second?.headers).toEqual({ "X-Tenant": "acme", "x-trace": "own" });
    expect(third).toMatchObject({ url: "https://example.com/default", method: "DELETE", name: "third", priority: 5 });
    // A task's own body, of either kind, replaces the defaults'.
    expect(first).toMatchObject({ body: "default text", bodyEncoding: "RAW" });
    expect(fourth).toMatchObject({ body: "AAEC/w==", bodyEncoding: "BASE64" });
  });

  it("answers each task exactly as it reads back (the answer is built without reading the rows again)", async () => {
    const tasks = await pushBatch(
      [
        { body: { a: 1 }, headers: { "X-A": "1" }, name: "plain", method: "PATCH" },
        { body: "raw text", queue: "read-back", priority: 9, retries: 0, timeoutMs: 1000 },
        { bodyBase64: "AAEC/w==" },
        { dedupe: true, dedupeWindow: "1m" },
        { throttleKey: "read-back", throttleWindow: "1m" },
        { debounceKey: "read-back", debounceWindow: "1m" },
        { callbackUrl: "https://example.com/callback", onFailureUrl: "https://example.com/failed" },
      ],
      { url: "https://example.com/read-back", delay: "1h" },
    );
    expect(tasks).toHaveLength(7);
    for (const task of tasks) {
      const readBack = await graphql<{ task: TaskAnswer }>(
        runlater.instance,
        ALICE_KEY,
        `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`,
        {
          id: task.id,
        },
      );
      expect(task).toEqual(readBack.data?.task);
    }
  });

  it("answers REST with the tasks' ids, in order", async () => {
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks: [{ url: "https://example.com/1" }, { url: "https://example.com/2" }],
      defaults: { delay: "1h" },
    });
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body)).toEqual(["ids"]);
    const urls = [];
    for (const id of answer.body.ids) urls.push((await rest<TaskAnswer>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.url);
    expect(urls).toEqual(["https://example.com/1", "https://example.com/2"]);
  });

  it("is the pushTasks mutation over GraphQL", async () => {
    const answer = await graphql<{ pushTasks: { tasks: Array<{ id: string; url: string; priority: number; status: string }> } }>(
      runlater.instance,
      ALICE_KEY,
      `mutation($tasks: [PushTaskInput!]!, $defaults: PushTaskInput) {
         pushTasks(tasks: $tasks, defaults: $defaults) { tasks { id url priority status } }
       }`,
      { tasks: [{ url: "https://example.com/a" }, { url: "https://example.com/b", priority: 1000 }], defaults: { delay: "1h" } },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.pushTasks.tasks.map((task) => [task.url, task.priority, task.status])).toEqual([
      ["https://example.com/a", 0, "SCHEDULED"],
      ["https://example.com/b", 1000, "SCHEDULED"],
    ]);
  });
});
