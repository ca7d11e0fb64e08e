/** Batch push is all or nothing: one invalid task creates none, and the error names the task and its field. */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ env: { RUNLATER_ALLOW_PRIVATE_TARGETS: "false" } });

const url = "https://example.com/hook";
type ErrorAnswer = { error: { code: string; message: string; field?: string } };

async function taskCount(): Promise<number> {
  const answer = await graphql<{ tasks: { edges: unknown[] } }>(
    runlater.instance,
    ALICE_KEY,
    "{ tasks(first: 100) { edges { node { id } } } }",
  );
  return answer.data?.tasks.edges.length ?? -1;
}

const valid = (count: number) => Array.from({ length: count }, (_, index) => ({ url: `${url}/${index}` }));
const withBad = (bad: Record<string, unknown>) => [...valid(3), bad, ...valid(2)];

const cases: Array<[string, unknown, number, string, string]> = [
  ["a missing url", { tasks: withBad({ method: "PUT" }) }, 422, "VALIDATION_FAILED", "tasks[3].url"],
  ["a url that is not http", { tasks: withBad({ url: "ftp://example.com/x" }) }, 422, "VALIDATION_FAILED", "tasks[3].url"],
  ["a private target", { tasks: withBad({ url: "http://127.0.0.1/admin" }) }, 422, "TARGET_NOT_ALLOWED", "tasks[3].url"],
  ["retries out of range", { tasks: withBad({ url, retries: 99 }) }, 422, "VALIDATION_FAILED", "tasks[3].retries"],
  ["retries of the wrong type", { tasks: withBad({ url, retries: "three" }) }, 400, "BAD_REQUEST", "tasks[3].retries"],
  ["priority beyond a 32-bit integer", { tasks: withBad({ url, priority: 2 ** 31 }) }, 400, "BAD_REQUEST", "tasks[3].priority"],
  ["an unknown method", { tasks: withBad({ url, method: "TRACE" }) }, 400, "BAD_REQUEST", "tasks[3].method"],
  ["a reserved header", { tasks: withBad({ url, headers: { Host: "x" } }) }, 422, "VALIDATION_FAILED", "tasks[3].headers.Host"],
  ["a body over 256 KiB", { tasks: withBad({ url, body: "x".repeat(256 * 1024 + 1) }) }, 413, "PAYLOAD_TOO_LARGE", "tasks[3].body"],
  ["priority above 1000", { tasks: withBad({ url, priority: 1001 }) }, 422, "VALIDATION_FAILED", "tasks[3].priority"],
  ["priority below -1000", { tasks: withBad({ url, priority: -1001 }) }, 422, "VALIDATION_FAILED", "tasks[3].priority"],
  ["priority not whole", { tasks: withBad({ url, priority: 1.5 }) }, 400, "BAD_REQUEST", "tasks[3].priority"],
  ["a bad value in the defaults", { tasks: valid(2), defaults: { timeoutMs: 5 } }, 422, "VALIDATION_FAILED", "defaults.timeoutMs"],
  [
    "a bad header in the defaults",
    { tasks: valid(2), defaults: { headers: { "Runlater-X": "1" } } },
    422,
    "VALIDATION_FAILED",
    "defaults.headers.Runlater-X",
  ],
  ["debounceKey without its window", { tasks: withBad({ url, debounceKey: "k" }) }, 422, "VALIDATION_FAILED", "tasks[3].debounceWindow"],
  ["throttleKey without its window", { tasks: withBad({ url, throttleKey: "k" }) }, 422, "VALIDATION_FAILED", "tasks[3].throttleWindow"],
  [
    "dedupe with a throttle key",
    { tasks: withBad({ url, dedupe: true, throttleKey: "k" }) },
    422,
    "VALIDATION_FAILED",
    "tasks[3].throttleKey",
  ],
  [
    "a debounce window over 7 days",
    { tasks: withBad({ url, debounceKey: "k", debounceWindow: "8d" }) },
    422,
    "VALIDATION_FAILED",
    "tasks[3].debounceWindow",
  ],
  [
    "debounce with a delay",
    { tasks: withBad({ url, debounceKey: "k", debounceWindow: "1m", delay: "5m" }) },
    422,
    "VALIDATION_FAILED",
    "tasks[3].delay",
  ],
  ["no tasks", { tasks: [] }, 422, "VALIDATION_FAILED", "tasks"],
  ["more than 1,000 tasks", { tasks: valid(1001) }, 422, "VALIDATION_FAILED", "tasks"],
  ["no tasks field", { defaults: { url } }, 400, "BAD_REQUEST", "tasks"],
];

describe("batch validation over REST", () => {
  it.each(cases)("refuses %s and creates nothing", async (_label, body, status, code, field) => {
    const before = await taskCount();
    const answer = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code, field });
    expect(answer.body.error.message.length).toBeGreaterThan(5);
    expect(await taskCount()).toBe(before);
  });

  it("accepts priority at its bounds and shows it on the task", async () => {
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks: [{ url, priority: -1000 }, { url, priority: 1000 }, { url }],
    });
    expect(answer.status).toBe(201);
    const priorities = [];
    for (const id of answer.body.ids) {
      priorities.push((await rest<{ priority: number }>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.priority);
    }
    expect(priorities).toEqual([-1000, 1000, 0]);
  });
});

describe("batch validation over GraphQL", () => {
  const mutation = `mutation($tasks: [PushTaskInput!]!, $defaults: PushTaskInput) { pushTasks(tasks: $tasks, defaults: $defaults) { tasks { id } } }`;

  it("names the task and field in extensions, and creates nothing", async () => {
    const before = await taskCount();
    const answer = await graphql(runlater.instance, ALICE_KEY, mutation, { tasks: withBad({ url, timeoutMs: 999 }) });
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "tasks[3].timeoutMs" });
    expect(answer.errors?.[0]?.message).toMatch(/^tasks\[3\]: timeoutMs/);
    const tooMany = await graphql(runlater.instance, ALICE_KEY, mutation, { tasks: valid(1001) });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "tasks" });
    expect(await taskCount()).toBe(before);
  });

  it("names the task and field of a value of the wrong type", async () => {
    const answer = await graphql(runlater.instance, ALICE_KEY, mutation, { tasks: withBad({ url, retries: "many" }) });
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "BAD_REQUEST", field: "tasks[3].retries" });
  });

  it("validates priority on pushTask too", async () => {
    const answer = await graphql(runlater.instance, ALICE_KEY, `mutation { pushTask(url: "${url}", priority: 2000) { id } }`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "priority" });
    const ok = await graphql<{ pushTask: { priority: number } }>(
      runlater.instance,
      ALICE_KEY,
      `mutation { pushTask(url: "${url}", priority: 7, delay: "1h") { priority } }`,
    );
    expect(ok.data?.pushTask.priority).toBe(7);
  });
});

describe("batch request size", () => {
  it("accepts a batch larger than the 1 MiB limit of single requests", async () => {
    const tasks = Array.from({ length: 10 }, (_, index) => ({ url: `${url}/large/${index}`, delay: "1d", body: "x".repeat(200 * 1024) }));
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", { tasks });
    expect(answer.status).toBe(201);
    expect(answer.body.ids).toHaveLength(10);
  });
});

describe("repeated batches", () => {
  it("refuses an Idempotency-Key, which a batch cannot honour, instead of writing the tasks twice on a retry", async () => {
    const tasks = [{ url: `${url}/keyed`, delay: "1d" }];
    const keyed = await rest<{ error: { code: string; field: string } }>(
      runlater.instance,
      ALICE_KEY,
      "POST",
      "/tasks/batch",
      { tasks },
      {
        "idempotency-key": "batch-1",
      },
    );
    expect(keyed.status).toBe(422);
    expect(keyed.body.error).toMatchObject({ code: "VALIDATION_FAILED", field: "Idempotency-Key" });
    // What to do instead: dedupe makes a repeated batch find its tasks.
    const first = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks,
      defaults: { dedupe: true },
    });
    const repeated = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks,
      defaults: { dedupe: true },
    });
    expect(repeated.body.ids).toEqual(first.body.ids);
  });
});
