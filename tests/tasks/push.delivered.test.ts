import { describe, expect, it } from "vitest";
import { verifySignature } from "../../server/services/signature.js";
import { ALICE_KEY, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({
  sink: (request) => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: `{"echo":${request.body || "null"}}`,
  }),
});

async function secrets(): Promise<{ current: string; previous: string | null }> {
  const { body } = await rest<{ current: string; previous: string | null }>(runlater.instance, ALICE_KEY, "GET", "/signing-secrets");
  return body;
}

describe("a pushed task is delivered, signed and recorded", () => {
  it("delivers a REST push with its method, headers, JSON body and Runlater's signed metadata", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/hook?source=test`,
      method: "PUT",
      headers: { "X-Custom": "yes" },
      body: { id: 1, name: "ünïcode" },
      name: "first task",
    });
    expect(pushed.status).toBe(201);
    expect(pushed.body).toMatchObject({ status: "SCHEDULED", method: "PUT", name: "first task", retries: 3, timeoutMs: 30000 });
    const taskId = pushed.body.id as string;

    const [received] = await runlater.sink.waitForRequests(1);
    expect(received).toBeDefined();
    expect(received!.method).toBe("PUT");
    expect(received!.path).toBe("/hook?source=test");
    expect(received!.headers["x-custom"]).toBe("yes");
    expect(received!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(received!.body)).toEqual({ id: 1, name: "ünïcode" });
    expect(received!.headers["runlater-task-id"]).toBe(taskId);
    expect(received!.headers["runlater-attempt"]).toBe("1");
    const signature = String(received!.headers["runlater-signature"]);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(signature, (await secrets()).current, received!.body)).toBe(true);
    expect(verifySignature(signature, "whsec_wrong", received!.body)).toBe(false);

    const task = await eventually(async () => {
      const { body } = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${taskId}`);
      return body.status === "SUCCEEDED" ? body : undefined;
    });
    expect(task.attempts).toBe(1);
    expect(task.completedAt).toBeTruthy();

    const executions = await rest<{ edges: Array<{ node: Record<string, unknown> }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/tasks/${taskId}/executions`,
    );
    expect(executions.status).toBe(200);
    expect(executions.body.edges).toHaveLength(1);
    const execution = executions.body.edges[0]!.node;
    expect(execution).toMatchObject({
      attempt: 1,
      status: "SUCCEEDED",
      responseStatus: 200,
      responseBodyTruncated: false,
      error: null,
    });
    expect(execution.id).toBe(received!.headers["runlater-execution-id"]);
    expect(JSON.parse(execution.responseBody as string)).toEqual({ echo: { id: 1, name: "ünïcode" } });
    expect((execution.responseHeaders as Record<string, string>)["content-type"]).toBe("application/json");
    expect(typeof execution.durationMs).toBe("number");
    expect(new Date(execution.startedAt as string).getTime()).toBeLessThanOrEqual(new Date(execution.finishedAt as string).getTime());

    const single = await rest(runlater.instance, ALICE_KEY, "GET", `/executions/${execution.id}`);
    expect(single.body).toMatchObject({ id: execution.id, taskId, status: "SUCCEEDED" });
  });

  it("delivers a GraphQL push with a raw string body sent as-is", async () => {
    const before = runlater.sink.requests.length;
    const answer = await graphql<{ pushTask: { id: string; bodyEncoding: string } }>(
      runlater.instance,
      ALICE_KEY,
      `mutation($url: String!, $headers: JSONObject) { pushTask(url: $url, body: "plain text, not JSON", headers: $headers) { id bodyEncoding status } }`,
      { url: `${runlater.sink.url}/raw`, headers: { "content-type": "text/plain" } },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.pushTask.bodyEncoding).toBe("RAW");
    const requests = await runlater.sink.waitForRequests(before + 1);
    const received = requests[before]!;
    expect(received.body).toBe("plain text, not JSON");
    expect(received.headers["content-type"]).toBe("text/plain");
    expect(received.method).toBe("POST");
  });

  it("delivers a bodyBase64 push as its decoded bytes, signed over those bytes", async () => {
    const before = runlater.sink.requests.length;
    // Not UTF-8 (0xff, 0xfe), with a NUL byte: what a text body cannot carry.
    const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x41, 0x0a]);
    // Unpadded and wrapped as `base64` prints it: stored in canonical form.
    const given = `${bytes.toString("base64").replace(/=+$/, "").slice(0, 4)}\n${bytes.toString("base64").replace(/=+$/, "").slice(4)}`;
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/binary`,
      headers: { "content-type": "application/octet-stream" },
      bodyBase64: given,
      dedupe: true,
    });
    expect(pushed.status).toBe(201);
    expect(pushed.body).toMatchObject({ bodyEncoding: "BASE64", body: bytes.toString("base64") });

    const [received] = (await runlater.sink.waitForRequests(before + 1)).slice(before);
    expect(received!.bytes.equals(bytes)).toBe(true);
    expect(received!.headers["content-type"]).toBe("application/octet-stream");
    const signature = String(received!.headers["runlater-signature"]);
    expect(verifySignature(signature, (await secrets()).current, received!.bytes)).toBe(true);
    // Over the bytes, not over their UTF-8 reading (which replaces 0xff and 0xfe).
    expect(verifySignature(signature, (await secrets()).current, received!.body)).toBe(false);

    // The same bytes in the other base64 form are the same content.
    const again = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/binary`,
      headers: { "content-type": "application/octet-stream" },
      bodyBase64: bytes.toString("base64"),
      dedupe: true,
    });
    expect(again.body.id).toBe(pushed.body.id);
  });

  it("reads a task and its executions over GraphQL, with the list newest first", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/gql`,
      delay: "1h",
      queue: "emails",
    });
    const taskId = pushed.body.id as string;
    const answer = await graphql<{
      task: { id: string; status: string; queue: string; executions: { edges: Array<{ node: { attempt: number; status: string } }> } };
      tasks: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean } };
    }>(
      runlater.instance,
      ALICE_KEY,
      `query($id: ID!) {
        task(id: $id) { id status queue executions { edges { node { attempt status } } } }
        tasks(first: 2) { edges { node { id } } pageInfo { hasNextPage } }
      }`,
      { id: taskId },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.task).toMatchObject({ id: taskId, status: "SCHEDULED", queue: "emails" });
    expect(answer.data?.task.executions.edges.map((edge) => edge.node)).toEqual([{ attempt: 1, status: "PENDING" }]);
    expect(answer.data?.tasks.edges[0]?.node.id).toBe(taskId);
    expect(answer.data?.tasks.pageInfo.hasNextPage).toBe(true);

    const filtered = await graphql<{ tasks: { edges: Array<{ node: { id: string } }> } }>(
      runlater.instance,
      ALICE_KEY,
      `{ tasks(filter: { queue: "emails", status: SCHEDULED }) { edges { node { id } } } }`,
    );
    expect(filtered.data?.tasks.edges.map((edge) => edge.node.id)).toEqual([taskId]);
  });

  it("pages through tasks with cursors", async () => {
    const created: string[] = [];
    for (let index = 0; index < 5; index++) {
      const { body } = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
        url: `${runlater.sink.url}/page`,
        delay: "1d",
        queue: "paging",
      });
      created.push(body.id as string);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const answer: Awaited<
        ReturnType<
          typeof graphql<{ tasks: { edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string; hasNextPage: boolean } } }>
        >
      > = await graphql(
        runlater.instance,
        ALICE_KEY,
        `query($after: String) { tasks(first: 2, after: $after, filter: { queue: "paging" }) { edges { node { id } } pageInfo { endCursor hasNextPage } } }`,
        { after },
      );
      seen.push(...(answer.data?.tasks.edges.map((edge) => edge.node.id) ?? []));
      if (!answer.data?.tasks.pageInfo.hasNextPage) break;
      after = answer.data.tasks.pageInfo.endCursor;
    }
    expect(seen).toEqual([...created].reverse());
  });
});
