// The hub loads a notification's rows only when some subscription on this process can receive them: every push,
// take and outcome notifies, and a dashboard watching finished attempts should not cost a row load per pending one.
import { beforeAll, expect, it } from "vitest";
import type { LiveEventHub } from "../../server/realtime/live-event-hub.js";
import { createPersonas, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let alice: Persona;
let bob: Persona;

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(runlater.database.url));
});

function hub(): LiveEventHub {
  return runlater.instance.live as LiveEventHub;
}

async function pushDelayed(persona: Persona, count: number): Promise<void> {
  const tasks = Array.from({ length: count }, (_, index) => ({ url: `${runlater.sink.url}/${index}`, delay: "1h" }));
  expect((await rest(runlater.instance, persona.apiKey, "POST", "/tasks/batch", { tasks })).status).toBe(201);
}

it("loads nothing for attempts in a status no subscription accepts, nor for tasks nobody follows", async () => {
  const finished = hub().subscribe("executions", alice.organizationId, { statuses: new Set(["SUCCEEDED", "FAILED"]) });
  const bobsAttempts = hub().subscribe("executions", bob.organizationId);
  const before = hub().rowsRequested;

  // Three tasks created and three attempts scheduled (PENDING) in alice's organisation: nobody here receives them.
  await pushDelayed(alice, 3);
  // Notifications arrive in commit order, so once bob's attempt arrives, alice's notifications have been handled.
  await pushDelayed(bob, 1);
  const bobs = await bobsAttempts.next();
  expect(bobs.value).toMatchObject({ organizationId: bob.organizationId, status: "PENDING" });

  // Only bob's attempt was loaded: not alice's three attempts, and no task (no task, activity or queue subscription).
  expect(hub().rowsRequested - before).toBe(1);

  await finished.return?.();
  await bobsAttempts.return?.();
});

it("loads a followed task, and no other task of its organisation", async () => {
  const bobsAttempts = hub().subscribe("executions", bob.organizationId);
  const tasks = Array.from({ length: 2 }, (_, index) => ({ url: `${runlater.sink.url}/followed-${index}`, delay: "1h" }));
  const pushed = await rest<{ ids: string[] }>(runlater.instance, alice.apiKey, "POST", "/tasks/batch", { tasks });
  const [followedId, otherId] = pushed.body.ids as [string, string];
  // Bob's attempt arrives after the batch's notifications (commit order): those are handled before the task is followed.
  await pushDelayed(bob, 1);
  await bobsAttempts.next();
  const followed = hub().subscribe("task", alice.organizationId, { key: followedId });
  const before = hub().rowsRequested;

  for (const id of [otherId, followedId]) {
    expect((await rest(runlater.instance, alice.apiKey, "DELETE", `/tasks/${id}`)).status).toBe(200);
  }
  expect((await followed.next()).value).toMatchObject({ id: followedId, status: "CANCELLED" });
  await pushDelayed(bob, 1);
  expect((await bobsAttempts.next()).value).toMatchObject({ organizationId: bob.organizationId });

  // The followed task and bob's attempt: not the other task, nor either task's cancelled attempt.
  expect(hub().rowsRequested - before).toBe(2);

  await followed.return?.();
  await bobsAttempts.return?.();
});

it("loads every attempt and task of an organisation whose activity feed is watched", async () => {
  const activity = hub().subscribe("activity", alice.organizationId);
  const before = hub().rowsRequested;

  await pushDelayed(alice, 2);
  const kinds: string[] = [];
  for (let received = 0; received < 4; received++) kinds.push(((await activity.next()).value as { kind: string }).kind);
  expect(kinds.sort()).toEqual(["EXECUTION_SCHEDULED", "EXECUTION_SCHEDULED", "TASK_CREATED", "TASK_CREATED"]);
  // Two attempts and two tasks.
  expect(hub().rowsRequested - before).toBe(4);

  await activity.return?.();
});
