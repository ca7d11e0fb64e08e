// queueStats, taskUpdated, orgActivity and the activityStats chart query.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ sink: (request) => (request.path.startsWith("/fail") ? { status: 500 } : { status: 200 }) });
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

function live<T>(query: string, variables: Record<string, unknown> = {}): LiveSubscription<T> {
  const subscription = subscribe<T>(runlater.instance.url as string, ALICE_KEY, query, variables);
  open.push(subscription as LiveSubscription<unknown>);
  return subscription;
}

async function push(body: Record<string, unknown>): Promise<string> {
  const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", body);
  expect(answer.status).toBe(201);
  return answer.body.id as string;
}

interface QueueEvent {
  queueStats: { name: string; paused: boolean; depth: { scheduled: number; running: number; failed: number } };
}

describe("queueStats", () => {
  it("sends the queue's depth at once, then as tasks and settings change, coalescing bursts", async () => {
    expect((await rest(runlater.instance, ALICE_KEY, "PATCH", "/queues/reports", { concurrency: 20 })).status).toBe(200);
    expect((await rest(runlater.instance, ALICE_KEY, "POST", "/queues/reports/pause")).status).toBe(200);
    const stats = live<QueueEvent>('subscription { queueStats(name: "reports") { name paused depth { scheduled running failed } } }');
    await stats.waitFor((events) => events.length === 1);
    expect(stats.events[0]?.queueStats).toEqual({ name: "reports", paused: true, depth: { scheduled: 0, running: 0, failed: 0 } });

    // A burst of 20 pushes into the paused queue.
    const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks: Array.from({ length: 20 }, (_, index) => ({ url: `${runlater.sink.url}/r${index}`, queue: "reports" })),
    });
    expect(answer.status).toBe(201);
    await stats.waitFor((events) => events.at(-1)?.queueStats.depth.scheduled === 20);
    // Coalesced: far fewer events than the 20 task inserts, with the final state last.
    expect(stats.events.length).toBeLessThanOrEqual(4);

    expect((await rest(runlater.instance, ALICE_KEY, "POST", "/queues/reports/resume")).status).toBe(200);
    await stats.waitFor((events) => {
      const last = events.at(-1)?.queueStats;
      return last?.paused === false && last.depth.scheduled === 0 && last.depth.running === 0;
    });
    expect(stats.events.some((event) => !event.queueStats.paused && event.queueStats.depth.scheduled < 20)).toBe(true);
  });

  it("answers NOT_FOUND for a queue that does not exist", async () => {
    const stats = live<QueueEvent>('subscription { queueStats(name: "never-used") { name } }');
    await stats.waitFor(() => stats.errors.length > 0);
    expect(JSON.stringify(stats.errors)).toContain("was not found");
  });
});

describe("taskUpdated", () => {
  it("sends the task each time it changes", async () => {
    const taskId = await push({ url: `${runlater.sink.url}/later`, delay: "1h" });
    const updates = live<{ taskUpdated: { id: string; status: string } }>(
      "subscription ($id: ID!) { taskUpdated(id: $id) { id status } }",
      { id: taskId },
    );
    await updates.ready();
    expect((await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${taskId}`)).status).toBe(200);
    await updates.waitFor((events) => events.some((event) => event.taskUpdated.status === "CANCELLED"));
    expect(updates.events.every((event) => event.taskUpdated.id === taskId)).toBe(true);
  });

  it("follows a task named with its id in capitals (ids are case-insensitive)", async () => {
    const taskId = await push({ url: `${runlater.sink.url}/later`, delay: "1h" });
    const updates = live<{ taskUpdated: { id: string; status: string } }>(
      "subscription ($id: ID!) { taskUpdated(id: $id) { id status } }",
      { id: taskId.toUpperCase() },
    );
    await updates.ready();
    expect((await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${taskId}`)).status).toBe(200);
    await updates.waitFor((events) => events.some((event) => event.taskUpdated.status === "CANCELLED"));
    expect(updates.events.map((event) => event.taskUpdated.id)).toContain(taskId);
  });
});

describe("orgActivity", () => {
  it("narrates creation, start, success, retries and failure", async () => {
    const activity = live<{ orgActivity: { kind: string; at: string; task: { id: string }; execution: { attempt: number } | null } }>(
      "subscription { orgActivity { kind at task { id } execution { attempt } } }",
    );
    await activity.ready();
    const ok = await push({ url: `${runlater.sink.url}/ok` });
    const failing = await push({ url: `${runlater.sink.url}/fail`, retries: 1 });
    const kindsOf = (taskId: string) =>
      activity.events.filter((event) => event.orgActivity.task.id === taskId).map((event) => event.orgActivity.kind);
    await activity.waitFor(
      () => kindsOf(ok).includes("EXECUTION_SUCCEEDED") && kindsOf(failing).filter((k) => k === "EXECUTION_FAILED").length === 2,
      20_000,
    );
    expect(kindsOf(ok)).toEqual(["TASK_CREATED", "EXECUTION_SCHEDULED", "EXECUTION_STARTED", "EXECUTION_SUCCEEDED"]);
    expect(kindsOf(failing)).toEqual([
      "TASK_CREATED",
      "EXECUTION_SCHEDULED",
      "EXECUTION_STARTED",
      "EXECUTION_FAILED",
      "EXECUTION_RETRYING",
      "EXECUTION_STARTED",
      "EXECUTION_FAILED",
    ]);
    const created = activity.events.find((event) => event.orgActivity.task.id === ok && event.orgActivity.kind === "TASK_CREATED");
    expect(created?.orgActivity.execution).toBeNull();
    expect(Number.isNaN(Date.parse(created?.orgActivity.at ?? ""))).toBe(false);
  });
});

describe("activityStats", () => {
  it("counts finished attempts per bucket in SQL, oldest first, with empty buckets", async () => {
    const client = new pg.Client({ connectionString: runlater.database.url });
    await client.connect();
    try {
      const taskId = await push({ url: `${runlater.sink.url}/stats`, delay: "1h" });
      const { rows } = await client.query<{ organization_id: string }>("SELECT organization_id FROM tasks WHERE id = $1", [taskId]);
      const organizationId = rows[0]?.organization_id;
      // Attempts finished 5–6 minutes ago (3 succeeded, 1 failed, 1 timed out, 1 cancelled) and 10 minutes ago (1 succeeded).
      const finished = [
        ["SUCCEEDED", 5.5],
        ["SUCCEEDED", 5.5],
        ["SUCCEEDED", 5.5],
        ["FAILED", 5.5],
        ["TIMED_OUT", 5.5],
        ["CANCELLED", 5.5],
        ["SUCCEEDED", 10.5],
      ] as const;
      for (const [index, [status, minutesAgo]] of finished.entries()) {
        await client.query(
          `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, finished_at)
           VALUES (gen_random_uuid(), $1, $2, 100 + $3, 1, $4, now(), date_bin('1 minute', now(), 'epoch') - $5::float8 * interval '1 minute')`,
          [organizationId, taskId, index, status, minutesAgo],
        );
      }
    } finally {
      await client.end();
    }

    const answer = await graphql<{ activityStats: Array<{ start: string; succeeded: number; failed: number; total: number }> }>(
      runlater.instance,
      ALICE_KEY,
      "{ activityStats(sinceMinutes: 15, bucketMinutes: 1) { start succeeded failed total } }",
    );
    expect(answer.errors).toBeUndefined();
    const buckets = answer.data!.activityStats;
    expect(buckets.length).toBeGreaterThanOrEqual(15);
    expect(buckets.length).toBeLessThanOrEqual(17);
    const starts = buckets.map((bucket) => Date.parse(bucket.start));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(starts.every((start, index) => index === 0 || start - (starts[index - 1] as number) === 60_000)).toBe(true);
    const currentMinute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = (minutesAgo: number) => buckets.find((bucket) => Date.parse(bucket.start) === currentMinute - minutesAgo * 60_000);
    // Other tests' attempts finish in the last minutes; the seeded minutes hold only the seeded rows.
    expect(at(6)).toMatchObject({ succeeded: 3, failed: 2, total: 6 });
    expect(at(11)).toMatchObject({ succeeded: 1, failed: 0, total: 1 });
    expect(at(8)).toMatchObject({ succeeded: 0, failed: 0, total: 0 });

    const rest5 = await rest<Array<{ total: number }>>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      "/activity-stats?sinceMinutes=120&bucketMinutes=60",
    );
    expect(rest5.status).toBe(200);
    expect(rest5.body.reduce((sum, bucket) => sum + bucket.total, 0)).toBeGreaterThanOrEqual(7);
  });

  it("refuses bounds it cannot serve, naming the argument", async () => {
    const tooMany = await rest(runlater.instance, ALICE_KEY, "GET", "/activity-stats?sinceMinutes=10080&bucketMinutes=1");
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({ error: { code: "VALIDATION_FAILED", field: "bucketMinutes" } });
    const negative = await graphql(runlater.instance, ALICE_KEY, "{ activityStats(sinceMinutes: 0) { total } }");
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "sinceMinutes" });
  });
});

describe("SOFA webhook subscriptions", () => {
  it("are not exposed: the server never POSTs events to a URL a caller names", async () => {
    const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/webhook", {
      subscription: "orgActivity",
      url: `${runlater.sink.url}/hijack`,
    });
    expect(answer.status).toBe(404);
  });
});
