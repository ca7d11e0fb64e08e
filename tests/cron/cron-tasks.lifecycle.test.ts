import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextCronOccurrences } from "../../server/services/cron-schedule.js";
import { createPersonas, eventually, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let alice: Persona;
let bob: Persona;
let db: pg.Pool;

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(runlater.database.url));
  db = new pg.Pool({ connectionString: runlater.database.url, max: 2 });
});
afterAll(async () => {
  await db?.end();
});

type Task = Record<string, unknown> & { id: string };
type Executions = { edges: Array<{ node: { run: number; attempt: number; status: string; scheduledFor: string; error: string | null } }> };

const pushCron = async (fields: Record<string, unknown>, persona = alice) =>
  rest<Task>(runlater.instance, persona.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/cron`, ...fields });

const executionsOf = async (id: string) =>
  (await rest<Executions>(runlater.instance, alice.apiKey, "GET", `/tasks/${id}/executions`)).body.edges.map((edge) => edge.node);

/** Brings a task's next slot to `at` by hand, as if its schedule said so. */
const setNextRunAt = (id: string, at: Date) => db.query("UPDATE tasks SET next_run_at = $2 WHERE id = $1", [id, at]);

const requestsFor = (id: string) => runlater.sink.requests.filter((request) => request.headers["runlater-task-id"] === id);

describe("pushing a cron task", () => {
  it("creates a CRON task with its first slot and no pending execution", async () => {
    const before = new Date();
    const pushed = await pushCron({ cron: "*/5 * * * *", timezone: "Europe/Berlin", catchUp: "LATEST", overlap: "SKIP_IF_RUNNING" });
    expect(pushed.status).toBe(201);
    expect(pushed.body).toMatchObject({
      type: "CRON",
      status: "SCHEDULED",
      cron: "*/5 * * * *",
      timezone: "Europe/Berlin",
      catchUp: "LATEST",
      overlap: "SKIP_IF_RUNNING",
      paused: false,
      runs: 0,
    });
    const expected = nextCronOccurrences("*/5 * * * *", "Europe/Berlin", before, 1)[0]?.toISOString();
    expect(pushed.body.nextRunAt).toBe(expected);
    expect(await executionsOf(pushed.body.id)).toEqual([]);
  });

  it("defaults to UTC, SKIP and ALLOW, over GraphQL too", async () => {
    const answer = await graphql<{ pushTask: Task }>(
      runlater.instance,
      alice.apiKey,
      `mutation($url: String!) { pushTask(url: $url, cron: "0 9 * * 1") { type cron timezone catchUp overlap nextRunAt } }`,
      { url: `${runlater.sink.url}/cron` },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.pushTask).toMatchObject({ type: "CRON", cron: "0 9 * * 1", timezone: "UTC", catchUp: "SKIP", overlap: "ALLOW" });
  });

  it.each([
    [{ cron: "61 * * * *" }, "cron"],
    [{ cron: "* * * *" }, "cron"],
    [{ cron: "0 0 30 2 *" }, "cron"],
    [{ cron: "0 * * * *", timezone: "Mars/Olympus" }, "timezone"],
    [{ cron: "0 * * * *", delay: "5m" }, "delay"],
    [{ cron: "0 * * * *", runAt: "2026-12-01T09:00:00Z" }, "runAt"],
    [{ timezone: "Europe/Berlin" }, "timezone"],
    [{ cron: "0 * * * *", dedupe: true }, "dedupe"],
    [{ cron: "0 * * * *", debounceKey: "k" }, "debounceKey"],
    [{ cron: "0 * * * *", throttleKey: "k" }, "throttleKey"],
  ])("refuses %j with 422 naming %s", async (fields, field) => {
    const answer = await rest<{ error: { code: string; field: string; message: string } }>(
      runlater.instance,
      alice.apiKey,
      "POST",
      "/tasks",
      { url: `${runlater.sink.url}/cron`, ...fields },
    );
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({ code: "VALIDATION_FAILED", field });
  });

  it("refuses an unknown policy as a malformed request (400), as for any enum", async () => {
    const answer = await pushCron({ cron: "0 * * * *", catchUp: "SOMETIMES" });
    expect(answer.status).toBe(400);
  });
});

describe("nextRuns", () => {
  const query = `query($cron: String!, $timezone: String, $count: Int, $after: DateTime) {
    nextRuns(cron: $cron, timezone: $timezone, count: $count, after: $after) }`;

  it("previews occurrences in a DST zone: a 02:30 job on spring-forward day runs at 03:00", async () => {
    const answer = await graphql<{ nextRuns: string[] }>(runlater.instance, alice.apiKey, query, {
      cron: "30 2 * * *",
      timezone: "America/New_York",
      count: 3,
      after: "2026-03-07T12:00:00Z",
    });
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.nextRuns).toEqual(["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]);
  });

  it("gives 5 occurrences after now by default, in UTC", async () => {
    const answer = await graphql<{ nextRuns: string[] }>(runlater.instance, alice.apiKey, query, { cron: "* * * * *" });
    expect(answer.data?.nextRuns).toHaveLength(5);
    expect(new Date(answer.data?.nextRuns[0] as string).getTime()).toBeGreaterThan(Date.now() - 1000);
  });

  it("is available over REST", async () => {
    const answer = await rest<string[]>(
      runlater.instance,
      alice.apiKey,
      "GET",
      "/cron/next-runs?cron=0%209%20*%20*%20*&timezone=Europe/Berlin&count=2&after=2026-05-01T12:00:00Z",
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(["2026-05-02T07:00:00.000Z", "2026-05-03T07:00:00.000Z"]);
  });

  it.each([
    [{ cron: "nope" }, "cron"],
    [{ cron: "* * * * *", timezone: "Nowhere/Special" }, "timezone"],
    [{ cron: "* * * * *", count: 0 }, "count"],
    [{ cron: "* * * * *", count: 101 }, "count"],
  ])("refuses %j naming %s", async (variables, field) => {
    const answer = await graphql(runlater.instance, alice.apiKey, query, variables);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field });
  });
});

describe("running, pausing, resuming and rescheduling", () => {
  it("fires a slot within a second of its time, runs it, and waits for the next slot as SCHEDULED", async () => {
    const pushed = await pushCron({ cron: "0 0 1 1 *" });
    const id = pushed.body.id;
    const slot = new Date(Date.now() + 1500);
    await setNextRunAt(id, slot);
    const [request] = await eventually(async () => (requestsFor(id).length === 1 ? requestsFor(id) : undefined), 10_000, 10);
    const lateness = (request?.receivedAt as number) - slot.getTime();
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1000);
    const executions = await eventually(async () => {
      const list = await executionsOf(id);
      return list[0]?.status === "SUCCEEDED" ? list : undefined;
    });
    expect(executions).toEqual([expect.objectContaining({ run: 1, attempt: 1, status: "SUCCEEDED", scheduledFor: slot.toISOString() })]);
    const task = await eventually(async () => {
      const { body } = await rest<Task>(runlater.instance, alice.apiKey, "GET", `/tasks/${id}`);
      return body.status === "SCHEDULED" ? body : undefined;
    });
    expect(task).toMatchObject({ runs: 1, completedAt: null, nextRunAt: `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z` });
  });

  it("retries a failed run within the same run number, then goes back to SCHEDULED", async () => {
    // Nothing listens on port 9 (discard): every attempt fails with a retryable connection error.
    const pushed = await pushCron({ cron: "0 0 1 1 *", url: "http://127.0.0.1:9/unreachable", retries: 1 });
    const id = pushed.body.id;
    await setNextRunAt(id, new Date(Date.now() + 200));
    const executions = await eventually(async () => {
      const list = await executionsOf(id);
      return list.length === 2 && list[1]?.status !== "PENDING" && list[1]?.status !== "RUNNING" ? list : undefined;
    }, 15_000);
    expect(executions.map((execution) => [execution.run, execution.attempt, execution.status])).toEqual([
      [1, 1, "FAILED"],
      [1, 2, "FAILED"],
    ]);
    const { body } = await rest<Task>(runlater.instance, alice.apiKey, "GET", `/tasks/${id}`);
    expect(body).toMatchObject({ status: "SCHEDULED", completedAt: null });
    expect(body.nextRunAt).not.toBeNull();
  });

  it("pauses (no slot fires, history kept), resumes from now, and reschedules keeping executions", async () => {
    const pushed = await pushCron({ cron: "0 0 1 1 *" });
    const id = pushed.body.id;
    await setNextRunAt(id, new Date(Date.now() + 100));
    await eventually(async () => (await executionsOf(id))[0]?.status === "SUCCEEDED");

    const paused = await rest<Task>(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, nextRunAt: null, status: "SCHEDULED" });
    expect((await rest<Task>(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/pause`)).body.paused).toBe(true);
    expect(await executionsOf(id)).toHaveLength(1);

    const beforeResume = new Date();
    const resumed = await rest<Task>(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/resume`);
    expect(resumed.body).toMatchObject({
      paused: false,
      nextRunAt: nextCronOccurrences("0 0 1 1 *", "UTC", beforeResume, 1)[0]?.toISOString(),
    });

    const beforeUpdate = new Date();
    const updated = await rest<Task>(runlater.instance, alice.apiKey, "PATCH", `/tasks/${id}/schedule`, {
      cron: "30 2 * * *",
      timezone: "America/New_York",
      overlap: "SKIP_IF_RUNNING",
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      cron: "30 2 * * *",
      timezone: "America/New_York",
      overlap: "SKIP_IF_RUNNING",
      catchUp: "SKIP",
      nextRunAt: nextCronOccurrences("30 2 * * *", "America/New_York", beforeUpdate, 1)[0]?.toISOString(),
    });
    expect(await executionsOf(id)).toHaveLength(1);

    const invalid = await rest<{ error: { field: string } }>(runlater.instance, alice.apiKey, "PATCH", `/tasks/${id}/schedule`, {
      timezone: "Atlantis/Capital",
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.field).toBe("timezone");

    // A paused task keeps its pause through a schedule update.
    await rest(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/pause`);
    const whilePaused = await rest<Task>(runlater.instance, alice.apiKey, "PATCH", `/tasks/${id}/schedule`, { cron: "*/10 * * * *" });
    expect(whilePaused.body).toMatchObject({ paused: true, nextRunAt: null, cron: "*/10 * * * *" });
  });

  it("triggers an extra run now without moving the schedule", async () => {
    const pushed = await pushCron({ cron: "0 0 1 1 *" });
    const id = pushed.body.id;
    const triggeredAt = Date.now();
    const triggered = await rest<Task>(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/trigger`);
    expect(triggered.status).toBe(200);
    expect(triggered.body).toMatchObject({ runs: 1, nextRunAt: pushed.body.nextRunAt });
    await eventually(async () => requestsFor(id).length === 1, 5000, 10);
    expect((requestsFor(id)[0]?.receivedAt as number) - triggeredAt).toBeLessThan(1000);
    expect((await executionsOf(id))[0]).toMatchObject({ run: 1, attempt: 1 });
  });

  it("stops a cancelled cron task: nextRunAt null, no more slots, no pause or resume", async () => {
    const pushed = await pushCron({ cron: "* * * * *" });
    const id = pushed.body.id;
    const cancelled = await rest<Task>(runlater.instance, alice.apiKey, "DELETE", `/tasks/${id}`);
    expect(cancelled.body).toMatchObject({ status: "CANCELLED", nextRunAt: null });
    const resumed = await rest<{ error: { code: string } }>(runlater.instance, alice.apiKey, "POST", `/tasks/${id}/resume`);
    expect(resumed.status).toBe(409);
    const { rows } = await db.query("SELECT next_run_at FROM tasks WHERE id = $1", [id]);
    expect(rows[0]?.next_run_at).toBeNull();
  });

  it("refuses to pause a one-off task", async () => {
    const pushed = await rest<Task>(runlater.instance, alice.apiKey, "POST", "/tasks", {
      url: `${runlater.sink.url}/one-off`,
      delay: "1h",
    });
    const answer = await rest<{ error: { code: string } }>(runlater.instance, alice.apiKey, "POST", `/tasks/${pushed.body.id}/pause`);
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("CONFLICT");
  });
});

describe("tenant isolation", () => {
  it("answers 404 to bob for alice's cron task on every cron route and mutation", async () => {
    const pushed = await pushCron({ cron: "0 0 1 1 *" });
    const id = pushed.body.id;
    for (const [method, path, body] of [
      ["POST", `/tasks/${id}/pause`],
      ["POST", `/tasks/${id}/resume`],
      ["PATCH", `/tasks/${id}/schedule`, { cron: "* * * * *" }],
      ["POST", `/tasks/${id}/trigger`],
    ] as const) {
      const answer = await rest<{ error: { code: string } }>(runlater.instance, bob.apiKey, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.error.code).toBe("NOT_FOUND");
    }
    for (const mutation of [
      "pauseTask(id: $id) { id }",
      "resumeTask(id: $id) { id }",
      'updateTaskSchedule(id: $id, cron: "* * * * *") { id }',
    ]) {
      const answer = await graphql(runlater.instance, bob.apiKey, `mutation($id: ID!) { ${mutation} }`, { id });
      expect(answer.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    }
    const { body } = await rest<Task>(runlater.instance, alice.apiKey, "GET", `/tasks/${id}`);
    expect(body).toMatchObject({ cron: "0 0 1 1 *", paused: false, runs: 0 });
  });
});
