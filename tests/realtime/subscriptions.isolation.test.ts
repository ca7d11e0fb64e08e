// bob subscribes to everything he can name, including alice's task and queue;
// alice's work must reach alice's subscriber and never bob's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { createPersonas, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let alice: Persona;
let bob: Persona;
const open: Array<LiveSubscription<unknown>> = [];

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(runlater.database.url));
});

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

function live<T = Record<string, unknown>>(persona: Persona, query: string, variables: Record<string, unknown> = {}): LiveSubscription<T> {
  const subscription = subscribe<T>(runlater.instance.url as string, persona.apiKey, query, variables);
  open.push(subscription as LiveSubscription<unknown>);
  return subscription;
}

describe("subscriptions are scoped to the subscriber's organisation", () => {
  it("never deliver alice's events to bob, whatever filter bob passes", async () => {
    // alice's queue exists before bob tries to watch it.
    await expect((await rest(runlater.instance, alice.apiKey, "PATCH", "/queues/private-queue", { concurrency: 2 })).status).toBe(200);
    const firstTask = await rest(runlater.instance, alice.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/a`, delay: "1h" });
    const aliceTaskId = firstTask.body.id as string;

    const aliceSees = live<{ executionUpdates: { taskId: string; status: string } }>(
      alice,
      "subscription { executionUpdates { taskId status } }",
    );
    const aliceActivity = live<{ orgActivity: { kind: string } }>(alice, "subscription { orgActivity { kind task { id } } }");
    const bobEverything = live(bob, "subscription { executionUpdates { taskId status } }");
    const bobByTask = live(bob, "subscription ($id: ID) { executionUpdates(taskId: $id) { taskId } }", { id: aliceTaskId });
    const bobByQueue = live(bob, 'subscription { executionUpdates(queue: "private-queue") { taskId } }');
    const bobActivity = live(bob, "subscription { orgActivity { kind task { id } } }");
    const bobTask = live(bob, "subscription ($id: ID!) { taskUpdated(id: $id) { id status } }", { id: aliceTaskId });
    const bobQueue = live(bob, 'subscription { queueStats(name: "private-queue") { name depth { scheduled } } }');
    await Promise.all([aliceSees, aliceActivity, bobEverything, bobByTask, bobByQueue, bobActivity].map((s) => s.ready()));

    const pushed = await rest(runlater.instance, alice.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/b`, queue: "private-queue" });
    const cancelled = await rest(runlater.instance, alice.apiKey, "DELETE", `/tasks/${aliceTaskId}`);
    expect(cancelled.status).toBe(200);
    await aliceSees.waitFor((events) =>
      events.some((event) => event.executionUpdates.taskId === pushed.body.id && event.executionUpdates.status === "SUCCEEDED"),
    );
    await aliceActivity.waitFor((events) => events.some((event) => event.orgActivity.kind === "TASK_CANCELLED"));

    for (const subscription of [bobEverything, bobByTask, bobByQueue, bobActivity]) expect(subscription.events).toEqual([]);
    // Naming another organisation's task or queue answers as if it did not exist.
    await bobTask.waitFor(() => bobTask.errors.length > 0);
    expect(JSON.stringify(bobTask.errors)).toContain(`task ${aliceTaskId} was not found`);
    await bobQueue.waitFor(() => bobQueue.errors.length > 0);
    expect(JSON.stringify(bobQueue.errors)).toContain("was not found");
    expect(bobTask.events).toEqual([]);
    expect(bobQueue.events).toEqual([]);
  });
});

interface ExecutionEvent {
  executionUpdates: { id: string; taskId: string; status: string; attempt: number; task: { id: string; name: string | null } };
}

// Subscribers with the same caller, document and variables share each event's execution
// (server/realtime/shared-subscription-results.ts); other variables and organisations get their own.
describe("subscribers of the same subscription share each event's result", () => {
  it("sends identical data to subscribers of the same query, and their own to other variables and organisations", async () => {
    const query = `subscription ($status: [ExecutionStatus!]) {
      executionUpdates(status: $status) { id taskId status attempt task { id name } }
    }`;
    const first = live<ExecutionEvent>(alice, query, { status: ["SUCCEEDED"] });
    const second = live<ExecutionEvent>(alice, query, { status: ["SUCCEEDED"] });
    const everyStatus = live<ExecutionEvent>(alice, query, { status: ["PENDING", "RUNNING", "SUCCEEDED"] });
    const bobSame = live<ExecutionEvent>(bob, query, { status: ["SUCCEEDED"] });
    await Promise.all([first, second, everyStatus, bobSame].map((subscription) => subscription.ready()));

    const taskIds: string[] = [];
    for (const name of ["shared-1", "shared-2", "shared-3"]) {
      const answer = await rest(runlater.instance, alice.apiKey, "POST", "/tasks", { url: `${runlater.sink.url}/${name}`, name });
      expect(answer.status).toBe(201);
      taskIds.push(answer.body.id as string);
    }
    const succeededAll = (events: ExecutionEvent[]) =>
      taskIds.every((id) => events.some((event) => event.executionUpdates.taskId === id && event.executionUpdates.status === "SUCCEEDED"));
    await Promise.all([first, second, everyStatus].map((subscription) => subscription.waitFor(succeededAll)));

    expect(first.events).toHaveLength(3);
    expect(second.events).toEqual(first.events);
    expect(first.events.map((event) => event.executionUpdates.task.name).sort()).toEqual(["shared-1", "shared-2", "shared-3"]);
    for (const id of taskIds) {
      const statuses = everyStatus.events
        .filter((event) => event.executionUpdates.taskId === id)
        .map((event) => event.executionUpdates.status);
      expect(statuses).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    }
    expect(bobSame.events).toEqual([]);
    for (const subscription of [first, second, everyStatus, bobSame]) expect(subscription.errors).toEqual([]);
  });
});
