/**
 * A task cancelled while its attempt's request is in flight: the attempt's outcome is still recorded (the request
 * did go out), but the task stays CANCELLED, and a failed attempt is not retried. The settle decides this under the
 * task's lock, in the same statement that records the outcome (services/attempts.ts, SETTLE_SQL).
 */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

/** Requests to /held/<name> wait for release(<name>), then answer with the status given there. */
const held = new Map<string, { release: (status: number) => void; answer: Promise<number> }>();
function holdFor(name: string): { release: (status: number) => void; answer: Promise<number> } {
  let entry = held.get(name);
  if (!entry) {
    let release!: (status: number) => void;
    const answer = new Promise<number>((resolve) => {
      release = resolve;
    });
    entry = { release, answer };
    held.set(name, entry);
  }
  return entry;
}

const runlater = useTestInstance({
  sink: async (request) => {
    const name = request.path.match(/^\/held\/(.+)$/)?.[1];
    return name ? { status: await holdFor(name).answer, body: "answered after the cancel" } : { status: 200, body: "ok" };
  },
});

interface ExecutionsPage {
  edges: Array<{ node: { attempt: number; status: string; responseStatus: number | null } }>;
}

async function executionsOf(taskId: string): Promise<ExecutionsPage["edges"]> {
  const { body } = await rest<ExecutionsPage>(runlater.instance, ALICE_KEY, "GET", `/tasks/${taskId}/executions`);
  return body.edges;
}

/** Pushes a task to /held/<name>, waits for its request, cancels it; the task as the cancel answered. */
async function cancelWhileRunning(name: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/held/${name}`, ...fields });
  const id = pushed.body.id as string;
  await eventually(async () => runlater.sink.requests.some((request) => request.path === `/held/${name}`), 10_000, 10);
  expect((await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.status).toBe("RUNNING");
  const cancelled = await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${id}`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.status).toBe("CANCELLED");
  return cancelled.body;
}

describe("a task cancelled while its request is in flight", () => {
  it("records the attempt's success and stays CANCELLED", async () => {
    const cancelled = await cancelWhileRunning("succeeds", {});
    const id = cancelled.id as string;
    holdFor("succeeds").release(200);
    const [execution] = await eventually(async () => {
      const executions = await executionsOf(id);
      return executions[0]?.node.status === "SUCCEEDED" ? executions : undefined;
    });
    expect(execution?.node.responseStatus).toBe(200);
    const task = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`);
    // As the cancel left it: the settle did not finish it.
    expect(task.body.status).toBe("CANCELLED");
    expect(task.body.completedAt).toBe(cancelled.completedAt);
    expect(task.body.updatedAt).toBe(cancelled.updatedAt);
  });

  it("records the attempt's failure and schedules no retry", async () => {
    const id = (await cancelWhileRunning("fails", { retries: 3 })).id as string;
    holdFor("fails").release(500);
    await eventually(async () => (await executionsOf(id))[0]?.node.status === "FAILED");
    // A retry would be written in the same transaction as the outcome: none is.
    expect((await executionsOf(id)).map((edge) => edge.node.attempt)).toEqual([1]);
    expect((await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.status).toBe("CANCELLED");
  });
});
