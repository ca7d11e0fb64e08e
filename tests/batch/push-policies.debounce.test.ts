/** debounceKey: the last push wins, and its request runs once, debounceWindow after it. */
import { beforeAll, describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, eventually, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let bob: Persona;

beforeAll(async () => {
  ({ bob } = await createPersonas(runlater.database.url));
});

type Task = { id: string; url: string; body: string | null; runAt: string; status: string; name: string | null };

const push = (fields: Record<string, unknown>, apiKey = ALICE_KEY) => rest<Task>(runlater.instance, apiKey, "POST", "/tasks", fields);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const receivedOn = (path: string) => runlater.sink.requests.filter((request) => request.path === path);

describe("debounceKey", () => {
  it("delivers only the last push's request, once, debounceWindow after it", async () => {
    const url = `${runlater.sink.url}/debounced`;
    const first = await push({ url, body: { n: 1 }, debounceKey: "search-index", debounceWindow: "1500ms", name: "first" });
    expect(first.status).toBe(201);
    expect(new Date(first.body.runAt).getTime()).toBeGreaterThan(Date.now() + 1000);
    await pause(400);
    const second = await push({ url, body: { n: 2 }, debounceKey: "search-index", debounceWindow: "1500ms", name: "second" });
    await pause(400);
    const lastPushAt = Date.now();
    const third = await push({ url, method: "PUT", body: { n: 3 }, debounceKey: "search-index", debounceWindow: "1500ms" });
    expect(second.body.id).toBe(first.body.id);
    expect(third.body.id).toBe(first.body.id);
    expect(third.body).toMatchObject({ body: '{"n":3}', status: "SCHEDULED" });

    const [delivered] = await eventually(async () => receivedOn("/debounced").length > 0 && receivedOn("/debounced"), 10_000);
    expect(delivered?.method).toBe("PUT");
    expect(JSON.parse(delivered?.body ?? "null")).toEqual({ n: 3 });
    expect(delivered?.headers["runlater-task-id"]).toBe(first.body.id);
    expect(delivered?.receivedAt).toBeGreaterThanOrEqual(lastPushAt + 1400);
    await pause(1000);
    expect(receivedOn("/debounced")).toHaveLength(1);

    // The task has run: the key's next push starts a new task.
    const next = await push({ url, body: { n: 4 }, debounceKey: "search-index", debounceWindow: "1h" });
    expect(next.body.id).not.toBe(first.body.id);
  });

  it("replaces the request of a task waiting in a queue", async () => {
    const url = `${runlater.sink.url}/queued-debounce`;
    const fields = { url, queue: "debounced", debounceKey: "queued", debounceWindow: "1s" };
    const first = await push({ ...fields, body: "first" });
    const second = await push({ ...fields, body: "second" });
    expect(second.body.id).toBe(first.body.id);
    const [delivered] = await eventually(async () => receivedOn("/queued-debounce").length > 0 && receivedOn("/queued-debounce"), 10_000);
    expect(delivered?.body).toBe("second");
    await pause(500);
    expect(receivedOn("/queued-debounce")).toHaveLength(1);
  });

  it("keeps the last push of a key within a batch", async () => {
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      defaults: { url: "https://example.com/batch-debounce", debounceWindow: "1h" },
      tasks: [
        { debounceKey: "a", body: 1 },
        { debounceKey: "b", body: 2 },
        { debounceKey: "a", body: 3 },
      ],
    });
    expect(answer.status).toBe(201);
    const [a, b, aAgain] = answer.body.ids;
    expect(aAgain).toBe(a);
    expect(b).not.toBe(a);
    expect((await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${a}`)).body.body).toBe("3");
    const later = await push({ url: "https://example.com/batch-debounce", debounceKey: "a", debounceWindow: "1h", body: 4 });
    expect(later.body).toMatchObject({ id: a, body: "4" });
  });

  it("never replaces another organisation's task", async () => {
    const fields = { url: "https://example.com/tenant", debounceKey: "tenant", debounceWindow: "1h" };
    const alices = await push({ ...fields, body: "alice" });
    const bobs = await push({ ...fields, body: "bob" }, bob.apiKey);
    expect(bobs.body.id).not.toBe(alices.body.id);
    const alicesNow = await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${alices.body.id}`);
    expect(alicesNow.body.body).toBe("alice");
  });
});
