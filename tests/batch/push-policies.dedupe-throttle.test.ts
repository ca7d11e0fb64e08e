/** dedupe and throttleKey: within the window a push returns the existing task instead of creating one. */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let bob: Persona;
let db: pg.Client;

beforeAll(async () => {
  ({ bob } = await createPersonas(runlater.database.url));
  db = new pg.Client({ connectionString: runlater.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
});

type Task = { id: string; url: string; body: string | null; name: string | null; status: string };

const push = (fields: Record<string, unknown>, apiKey = ALICE_KEY) =>
  rest<Task>(runlater.instance, apiKey, "POST", "/tasks", { delay: "1h", ...fields });
const ageTask = (id: string, interval: string) =>
  db.query(`UPDATE tasks SET created_at = created_at - $2::interval WHERE id = $1`, [id, interval]);

describe("dedupe", () => {
  const url = "https://example.com/dedupe";

  it("returns the existing task for an identical push within the window", async () => {
    const first = await push({ url, body: { order: 1, lines: [1, 2] }, dedupe: true, name: "first" });
    // Same JSON body with keys in another order, other headers: still identical content.
    const second = await push({ url, body: { lines: [1, 2], order: 1 }, headers: { "X-Trace": "2" }, dedupe: true, name: "second" });
    expect(first.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.name).toBe("first");
  });

  it("creates a new task for a different body, method or URL", async () => {
    const first = await push({ url, body: { order: 2 }, dedupe: true });
    const ids = new Set([first.body.id]);
    ids.add((await push({ url, body: { order: 3 }, dedupe: true })).body.id);
    ids.add((await push({ url, body: { order: 2 }, method: "PUT", dedupe: true })).body.id);
    ids.add((await push({ url: `${url}/other`, body: { order: 2 }, dedupe: true })).body.id);
    ids.add((await push({ url, body: '{"order":2}', dedupe: true })).body.id);
    expect(ids.size).toBe(5);
  });

  it("matches an edited task by what it now sends, not by what it was pushed with", async () => {
    const first = await push({ url, body: { order: 42 }, dedupe: true });
    const edited = await rest<Task>(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${first.body.id}`, { body: { order: 43 } });
    expect(edited.body.body).toBe('{"order":43}');
    // The old request is no longer sent by anything: a push of it creates a task.
    const old = await push({ url, body: { order: 42 }, dedupe: true });
    expect(old.status).toBe(201);
    expect(old.body.id).not.toBe(first.body.id);
    // The new one is the edited task's.
    const same = await push({ url, body: { order: 43 }, dedupe: true });
    expect(same.body.id).toBe(first.body.id);
  });

  it("ignores pushes without dedupe, and creates a new task once the window has passed", async () => {
    const plain = await push({ url, body: { order: 4 } });
    const first = await push({ url, body: { order: 4 }, dedupe: true, dedupeWindow: "5m" });
    expect(first.body.id).not.toBe(plain.body.id);
    await ageTask(first.body.id, "6 minutes");
    const later = await push({ url, body: { order: 4 }, dedupe: true, dedupeWindow: "5m" });
    expect(later.body.id).not.toBe(first.body.id);
    // Of several identical tasks within the window, the newest is the one returned.
    const again = await push({ url, body: { order: 4 }, dedupe: true, dedupeWindow: "1h" });
    expect(again.body.id).toBe(later.body.id);
  });

  it("does not return a cancelled task", async () => {
    const first = await push({ url, body: { order: 5 }, dedupe: true });
    await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${first.body.id}`);
    const second = await push({ url, body: { order: 5 }, dedupe: true });
    expect(second.body.id).not.toBe(first.body.id);
  });

  it("deduplicates within a batch and against earlier tasks, answering one entry per push", async () => {
    const earlier = await push({ url, body: { order: 6 }, dedupe: true });
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      defaults: { url, dedupe: true, delay: "1h" },
      tasks: [{ body: { order: 6 } }, { body: { order: 7 } }, { body: { order: 7 } }, { body: { order: 8 }, dedupe: false }],
    });
    expect(answer.status).toBe(201);
    const [six, seven, sevenAgain, eight] = answer.body.ids;
    expect(six).toBe(earlier.body.id);
    expect(sevenAgain).toBe(seven);
    expect(new Set([six, seven, eight]).size).toBe(3);
  });

  it("gives concurrent identical pushes one task between them", async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => push({ url, body: { order: "race" }, dedupe: true })));
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
  });

  it("never matches another organisation's task", async () => {
    const alices = await push({ url, body: { order: "shared" }, dedupe: true });
    const bobs = await push({ url, body: { order: "shared" }, dedupe: true }, bob.apiKey);
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(alices.body.id);
  });
});

describe("throttleKey", () => {
  const url = "https://example.com/throttle";

  it("returns the key's last task, unchanged, within the window; creates a new one after it", async () => {
    const first = await push({ url, body: { n: 1 }, throttleKey: "report", throttleWindow: "1m" });
    const second = await push({ url, body: { n: 2 }, throttleKey: "report", throttleWindow: "1m" });
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.body).toBe('{"n":1}');
    const otherKey = await push({ url, body: { n: 3 }, throttleKey: "other", throttleWindow: "1m" });
    expect(otherKey.body.id).not.toBe(first.body.id);

    await ageTask(first.body.id, "61 seconds");
    const third = await push({ url, body: { n: 4 }, throttleKey: "report", throttleWindow: "1m" });
    expect(third.body.id).not.toBe(first.body.id);
    expect(third.body.body).toBe('{"n":4}');
  });

  it("lets one task per key through a batch", async () => {
    const answer = await rest<{ ids: string[] }>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      defaults: { url, throttleWindow: "10m", delay: "1h" },
      tasks: [
        { throttleKey: "a", body: 1 },
        { throttleKey: "b", body: 2 },
        { throttleKey: "a", body: 3 },
      ],
    });
    const [a, b, aAgain] = answer.body.ids;
    expect(aAgain).toBe(a);
    expect(b).not.toBe(a);
    expect((await rest<Task>(runlater.instance, ALICE_KEY, "GET", `/tasks/${a}`)).body.body).toBe("1");
  });

  it("never matches another organisation's key", async () => {
    const alices = await push({ url, throttleKey: "tenant", throttleWindow: "1h" });
    const bobs = await push({ url, throttleKey: "tenant", throttleWindow: "1h" }, bob.apiKey);
    expect(bobs.body.id).not.toBe(alices.body.id);
  });
});
