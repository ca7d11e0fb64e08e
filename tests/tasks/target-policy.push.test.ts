/** With private targets refused (production default): checked at push, and again at connect time. */
import dns from "node:dns/promises";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { ALICE_KEY, eventually, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ env: { RUNLATER_ALLOW_PRIVATE_TARGETS: "false" } });

describe("target policy", () => {
  it.each([
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/",
  ])("refuses %s at push with 422 TARGET_NOT_ALLOWED", async (url) => {
    const answer = await rest<{ error: { code: string; field: string } }>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url });
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({ code: "TARGET_NOT_ALLOWED", field: "url" });
  });

  it("accepts a public address", async () => {
    const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: "https://93.184.215.14/hook", delay: "1d" });
    expect(answer.status).toBe(201);
  });

  it("refuses at connect time a hostname that resolves to a loopback address, and never calls it", async () => {
    const hostname = os.hostname();
    const { address } = await dns.lookup(hostname);
    expect(address.startsWith("127.")).toBe(true); // the machine's own name resolves to loopback here
    const port = new URL(runlater.sink.url).port;
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `http://${hostname}:${port}/rebound`, retries: 3 });
    expect(pushed.status).toBe(201);
    const task = await eventually(async () => {
      const { body } = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
      return body.status === "FAILED" ? body : undefined;
    });
    expect(task.attempts).toBe(1); // final, not retried
    const { body } = await rest<{ edges: Array<{ node: { error: string } }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/tasks/${pushed.body.id}/executions`,
    );
    expect(body.edges[0]!.node.error).toMatch(/not allowed|private|loopback/i);
    expect(runlater.sink.requests).toHaveLength(0);
  });
});
