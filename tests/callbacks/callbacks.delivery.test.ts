/**
 * callbackUrl and onFailureUrl end to end: what is POSTed, when, how often,
 * signed with the organisation's secret, and retried and recorded as CALLBACK tasks.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { CallbackPayload } from "../../server/services/callbacks.js";
import { verifySignature } from "../../server/services/signature.js";
import { assertCallbackTargetsAllowed } from "../../server/services/target-policy.js";
import { ALICE_KEY, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";
import { type Sink, type SinkAnswer, startSink } from "../helpers/sink.js";

const runlater = useTestInstance();
const sinks: Sink[] = [];

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
});

async function sinkAnswering(answers: SinkAnswer[]): Promise<Sink> {
  const sink = await startSink((_request, index) => answers[Math.min(index, answers.length - 1)]!);
  sinks.push(sink);
  return sink;
}

type TaskBody = Record<string, unknown> & { id: string; status: string };

async function pushAndSettle(fields: Record<string, unknown>): Promise<TaskBody> {
  const pushed = await rest<TaskBody>(runlater.instance, ALICE_KEY, "POST", "/tasks", fields);
  expect(pushed.status).toBe(201);
  return eventually(async () => {
    const { body } = await rest<TaskBody>(runlater.instance, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
    return ["SUCCEEDED", "FAILED"].includes(body.status) ? body : undefined;
  }, 15_000);
}

type CallbackTask = {
  id: string;
  type: string;
  name: string;
  status: string;
  url: string;
  sourceTaskId: string;
  executions: { edges: Array<{ node: { attempt: number; status: string; responseStatus: number | null } }> };
};

/** The task's CALLBACK tasks, as the API records them. */
async function callbacksOf(taskId: string): Promise<CallbackTask[]> {
  const answer = await graphql<{ task: { callbacks: { edges: Array<{ node: CallbackTask }> } } }>(
    runlater.instance,
    ALICE_KEY,
    `query ($id: ID!) { task(id: $id) { callbacks { edges { node {
       id type name status url sourceTaskId executions { edges { node { attempt status responseStatus } } } } } } } }`,
    { id: taskId },
  );
  expect(answer.errors).toBeUndefined();
  return answer.data!.task.callbacks.edges.map((edge) => edge.node);
}

const payloadOf = (request: { body: string }) => JSON.parse(request.body) as CallbackPayload;

describe("callbackUrl", () => {
  it("FINAL (the default) POSTs one summary of the last attempt, signed with the organisation's secret", async () => {
    const target = await sinkAnswering([
      { status: 500, body: "boom" },
      { status: 200, body: "fine" },
    ]);
    const receiver = await sinkAnswering([{ status: 204 }]);
    const task = await pushAndSettle({ url: target.url, retries: 3, name: "order-42", callbackUrl: `${receiver.url}/done` });
    expect(task).toMatchObject({ status: "SUCCEEDED", callbackUrl: `${receiver.url}/done`, callbackOn: "FINAL", onFailureUrl: null });

    // Written with the final outcome, in its transaction: present as soon as the task is SUCCEEDED.
    const callbacks = await callbacksOf(task.id);
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]).toMatchObject({ type: "CALLBACK", name: "attempt.finished", url: `${receiver.url}/done`, sourceTaskId: task.id });

    const [received] = await receiver.waitForRequests(1);
    expect(received).toMatchObject({ method: "POST", path: "/done" });
    expect(received!.headers["content-type"]).toBe("application/json");
    expect(received!.headers["runlater-task-id"]).toBe(callbacks[0]!.id);
    const secrets = await rest<{ current: string }>(runlater.instance, ALICE_KEY, "GET", "/signing-secrets");
    expect(verifySignature(String(received!.headers["runlater-signature"]), secrets.body.current, received!.body)).toBe(true);

    const payload = payloadOf(received!);
    expect(payload).toMatchObject({
      event: "attempt.finished",
      final: true,
      task: { id: task.id, name: "order-42", queue: null, status: "SUCCEEDED" },
      execution: { attempt: 2, status: "SUCCEEDED" },
      status: "SUCCEEDED",
      responseStatus: 200,
      bodyExcerpt: "fine",
      error: null,
    });
    expect(payload.durationMs).toEqual(expect.any(Number));
    expect(payload.execution.durationMs).toBe(payload.durationMs);
    for (const time of [payload.execution.scheduledFor, payload.execution.startedAt, payload.execution.finishedAt]) {
      expect(new Date(String(time)).toISOString()).toBe(time);
    }
    const { body: executions } = await rest<{ edges: Array<{ node: { id: string } }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/tasks/${task.id}/executions`,
    );
    expect(payload.execution.id).toBe(executions.edges[1]!.node.id);

    await eventually(async () => (await callbacksOf(task.id))[0]?.status === "SUCCEEDED");
    const listed = await rest<{ edges: Array<{ node: { id: string } }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/tasks?filter=${encodeURIComponent(JSON.stringify({ type: "CALLBACK" }))}`,
    );
    expect(listed.body.edges.map((edge) => edge.node.id)).toContain(callbacks[0]!.id);
  });

  it("EVERY_ATTEMPT POSTs a summary after each attempt, the retried one included", async () => {
    const target = await sinkAnswering([
      { status: 500, body: "boom" },
      { status: 200, body: "fine" },
    ]);
    const receiver = await sinkAnswering([{ status: 200 }]);
    const task = await pushAndSettle({ url: target.url, retries: 3, callbackUrl: receiver.url, callbackOn: "EVERY_ATTEMPT" });
    expect(task.status).toBe("SUCCEEDED");
    expect(await callbacksOf(task.id)).toHaveLength(2);

    const payloads = (await receiver.waitForRequests(2)).map(payloadOf).sort((a, b) => a.execution.attempt - b.execution.attempt);
    expect(payloads.map((payload) => [payload.execution.attempt, payload.status, payload.responseStatus, payload.final])).toEqual([
      [1, "FAILED", 500, false],
      [2, "SUCCEEDED", 200, true],
    ]);
    expect(payloads[0]).toMatchObject({ task: { status: "SCHEDULED" }, bodyExcerpt: "boom", error: "HTTP 500" });
    expect(payloads[1]!.task.status).toBe("SUCCEEDED");
  });

  it("carries only the first 1 KiB of the response body", async () => {
    const target = await sinkAnswering([{ status: 200, body: "é".repeat(1000) }]);
    const receiver = await sinkAnswering([{ status: 200 }]);
    await pushAndSettle({ url: target.url, callbackUrl: receiver.url });
    const [received] = await receiver.waitForRequests(1);
    // 512 two-byte characters: 1024 bytes, no character cut in half.
    expect(payloadOf(received!).bodyExcerpt).toBe("é".repeat(512));
  });

  it("retries a failing callback endpoint and records each delivery attempt", async () => {
    const target = await sinkAnswering([{ status: 200 }]);
    const receiver = await sinkAnswering([{ status: 503, body: "busy" }, { status: 200 }]);
    const task = await pushAndSettle({ url: target.url, callbackUrl: receiver.url });

    const [callback] = await eventually(async () => {
      const callbacks = await callbacksOf(task.id);
      return callbacks[0]?.status === "SUCCEEDED" ? callbacks : undefined;
    }, 15_000);
    expect(callback!.executions.edges.map((edge) => edge.node)).toEqual([
      { attempt: 1, status: "FAILED", responseStatus: 503 },
      { attempt: 2, status: "SUCCEEDED", responseStatus: 200 },
    ]);
    const requests = await receiver.waitForRequests(2);
    expect(requests.map((request) => request.headers["runlater-attempt"])).toEqual(["1", "2"]);
    expect(requests[1]!.body).toBe(requests[0]!.body);
  });
});

describe("onFailureUrl", () => {
  it("is called once, when retries are exhausted, not for each failed attempt", async () => {
    const target = await sinkAnswering([{ status: 503, body: "down" }]);
    const receiver = await sinkAnswering([{ status: 200 }]);
    const task = await pushAndSettle({ url: target.url, retries: 2, onFailureUrl: `${receiver.url}/failed` });
    expect(task.status).toBe("FAILED");
    expect(target.requests).toHaveLength(3);

    const callbacks = await callbacksOf(task.id);
    expect(callbacks.map((callback) => [callback.name, callback.url])).toEqual([["task.failed", `${receiver.url}/failed`]]);
    const [received] = await receiver.waitForRequests(1);
    expect(payloadOf(received!)).toMatchObject({
      event: "task.failed",
      final: true,
      task: { id: task.id, status: "FAILED" },
      execution: { attempt: 3, status: "FAILED" },
      status: "FAILED",
      responseStatus: 503,
      bodyExcerpt: "down",
      error: "retries exhausted: HTTP 503",
    });
  });

  it("is not called for a task that succeeds, while callbackUrl still is", async () => {
    const target = await sinkAnswering([{ status: 200 }]);
    const receiver = await sinkAnswering([{ status: 200 }]);
    const task = await pushAndSettle({ url: target.url, callbackUrl: `${receiver.url}/any`, onFailureUrl: `${receiver.url}/failed` });
    expect((await callbacksOf(task.id)).map((callback) => callback.name)).toEqual(["attempt.finished"]);
  });
});

describe("callback fields at push", () => {
  it.each([
    [{ callbackOn: "FINAL" }, "callbackOn", "VALIDATION_FAILED"],
    [{ callbackUrl: "ftp://example.com/x" }, "callbackUrl", "VALIDATION_FAILED"],
    [{ onFailureUrl: "not a url" }, "onFailureUrl", "VALIDATION_FAILED"],
    [{ callbackUrl: "https://example.com/x", callbackOn: "SOMETIMES" }, "callbackOn", "BAD_REQUEST"],
  ])("refuses %j naming %s", async (fields, field, code) => {
    const answer = await rest<{ error: { code: string; field: string } }>(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: "https://example.com/hook",
      delay: "1d",
      ...fields,
    });
    expect(answer.status).toBe(code === "BAD_REQUEST" ? 400 : 422);
    expect(answer.body.error).toMatchObject({ code, field });
  });

  it("applies the target policy to callback URLs, naming the field", () => {
    const refused = { allowPrivateTargets: false };
    expect(() => assertCallbackTargetsAllowed({ callbackUrl: "http://127.0.0.1/cb" }, refused)).toThrowError(
      expect.objectContaining({ code: "TARGET_NOT_ALLOWED", field: "callbackUrl" }),
    );
    expect(() => assertCallbackTargetsAllowed({ onFailureUrl: "http://metadata.google.internal/" }, refused)).toThrowError(
      expect.objectContaining({ code: "TARGET_NOT_ALLOWED", field: "onFailureUrl" }),
    );
    expect(() => assertCallbackTargetsAllowed({ callbackUrl: "http://127.0.0.1/cb" }, { allowPrivateTargets: true })).not.toThrow();
  });
});
