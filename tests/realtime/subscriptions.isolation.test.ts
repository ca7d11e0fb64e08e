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
