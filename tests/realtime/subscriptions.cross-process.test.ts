// The worker and two API servers as separate processes: an execution done by
// the worker reaches subscribers of either server, through PostgreSQL alone.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { type RunlaterProcess, spawnRunlater } from "../helpers/processes.js";
import { ALICE_KEY, rest } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

let database: TestDatabase;
let sink: Sink;
const processes: RunlaterProcess[] = [];
const servers: string[] = [];
const open: Array<LiveSubscription<unknown>> = [];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSink();
  const start = async (role: "server" | "worker") => {
    const port = role === "server" ? await freePort() : 0;
    const child = spawnRunlater(role, database.url, { PORT: String(port) });
    processes.push(child);
    await child.waitForOutput(role === "server" ? /Runlater is listening/ : /worker is dispatching/, 60_000);
    return `http://127.0.0.1:${port}`;
  };
  // The first server bootstraps alice's organisation and key; the others start side by side.
  servers.push(await start("server"));
  const [second] = await Promise.all([start("server"), start("worker")]);
  servers.push(second);
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
  for (const child of processes) child.child.kill("SIGTERM");
  await Promise.all(processes.map((child) => child.exited));
  await sink?.close();
  await database?.drop();
}, 60_000);

describe("live updates across processes", () => {
  it("deliver a worker's execution to subscribers of both servers", async () => {
    const [first, second] = servers as [string, string];
    const query = "subscription { executionUpdates { taskId status responseStatus } }";
    const onFirst = subscribe<{ executionUpdates: { taskId: string; status: string } }>(first, ALICE_KEY, query);
    const onSecond = subscribe<{ executionUpdates: { taskId: string; status: string } }>(second, ALICE_KEY, query);
    open.push(onFirst as LiveSubscription<unknown>, onSecond as LiveSubscription<unknown>);
    await Promise.all([onFirst.ready(), onSecond.ready()]);

    const pushed = await rest({ url: first }, ALICE_KEY, "POST", "/tasks", { url: `${sink.url}/cross` });
    expect(pushed.status).toBe(201);
    const taskId = pushed.body.id as string;
    const statuses = (events: Array<{ executionUpdates: { taskId: string; status: string } }>) =>
      events.filter((event) => event.executionUpdates.taskId === taskId).map((event) => event.executionUpdates.status);
    for (const subscription of [onFirst, onSecond]) {
      const events = await subscription.waitFor((received) => statuses(received).includes("SUCCEEDED"), 30_000);
      expect(statuses(events)).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    }
    expect(sink.requests).toHaveLength(1);
  }, 60_000);

  it("deliver a webhook received by one server and a monitor the worker took DOWN to a subscriber of the other", async () => {
    const [first, second] = servers as [string, string];
    const endpoint = await rest<{ id: string; slug: string }>({ url: first }, ALICE_KEY, "POST", "/endpoints", {
      name: "x",
      forwardUrls: [],
    });
    const monitor = await rest<{ id: string; token: string }>({ url: first }, ALICE_KEY, "POST", "/monitors", {
      name: "cross",
      intervalSeconds: 1,
      graceSeconds: 0,
    });
    expect([endpoint.status, monitor.status]).toEqual([201, 201]);
    const webhooks = subscribe<{ inboundEvents: { id: string } }>(second, ALICE_KEY, "subscription { inboundEvents { id } }");
    const monitors = subscribe<{ monitorUpdated: { status: string } }>(
      second,
      ALICE_KEY,
      "subscription ($id: ID) { monitorUpdated(id: $id) { status } }",
      { id: monitor.body.id },
    );
    open.push(webhooks as LiveSubscription<unknown>, monitors as LiveSubscription<unknown>);
    await Promise.all([webhooks.ready(), monitors.ready()]);

    const received = await fetch(`${first}/in/${endpoint.body.slug}`, { method: "POST", body: "{}" });
    expect(received.status).toBe(202);
    const { id } = (await received.json()) as { id: string };
    await webhooks.waitFor((events) => events.some((event) => event.inboundEvents.id === id), 30_000);
    expect((await fetch(`${first}/ping/${monitor.body.token}`)).status).toBe(200);
    // Only the worker runs the checker: DOWN comes from a third process.
    await monitors.waitFor((events) => events.some((event) => event.monitorUpdated.status === "DOWN"), 30_000);
  }, 60_000);
});
