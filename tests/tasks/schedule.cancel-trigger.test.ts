import { describe, expect, it } from "vitest";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();

const requestsFor = (path: string) => runlater.sink.requests.filter((request) => request.path === path);

describe("scheduling", () => {
  it("delivers a delayed task no earlier than its due time and soon after it", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/delayed`, delay: "2s" });
    const dueAt = new Date(pushed.body.runAt as string).getTime();
    await eventually(async () => requestsFor("/delayed").length === 1, 10_000, 10);
    const lateness = requestsFor("/delayed")[0]!.receivedAt - dueAt;
    expect(lateness).toBeGreaterThanOrEqual(0);
    // The benchmark holds the 100 ms target; this bound only catches a broken wake-up (a 2 s poll would fail it).
    expect(lateness).toBeLessThan(1000);
  });

  it("delivers at runAt", async () => {
    const runAt = new Date(Date.now() + 1500).toISOString();
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/run-at`, runAt });
    expect(pushed.body.runAt).toBe(runAt);
    await eventually(async () => requestsFor("/run-at").length === 1, 10_000, 10);
    expect(requestsFor("/run-at")[0]!.receivedAt).toBeGreaterThanOrEqual(new Date(runAt).getTime());
  });

  it("never calls a task cancelled before it is due", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/cancelled`, delay: "1s" });
    const id = pushed.body.id as string;
    const cancelled = await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("CANCELLED");
    // Wait well past the due time.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(requestsFor("/cancelled")).toHaveLength(0);
    const { body } = await rest<{ edges: Array<{ node: { status: string } }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/tasks/${id}/executions`,
    );
    expect(body.edges.map((edge) => edge.node.status)).toEqual(["CANCELLED"]);
    const again = await rest(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${id}`);
    expect(again.body.status).toBe("CANCELLED");
  });

  it("refuses to cancel a finished task", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/finished` });
    const id = pushed.body.id as string;
    await eventually(async () => (await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.status === "SUCCEEDED");
    const answer = await rest<{ error: { code: string } }>(runlater.instance, ALICE_KEY, "DELETE", `/tasks/${id}`);
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("CONFLICT");
  });

  it("runs a task now when triggered", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/triggered`, delay: "1h" });
    const id = pushed.body.id as string;
    const triggeredAt = Date.now();
    const triggered = await rest(runlater.instance, ALICE_KEY, "POST", `/tasks/${id}/trigger`);
    expect(triggered.status).toBe(200);
    await eventually(async () => requestsFor("/triggered").length === 1, 5000, 10);
    expect(requestsFor("/triggered")[0]!.receivedAt - triggeredAt).toBeLessThan(1000);
    const task = await eventually(async () => {
      const { body } = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`);
      return body.status === "SUCCEEDED" ? body : undefined;
    });
    expect(task.attempts).toBe(1);
  });
});
