/**
 * An acknowledged webhook is never lost: events accepted while no worker runs
 * (and by a server that is then stopped) are forwarded once a worker starts;
 * a heartbeat deadline missed while no checker ran raises its DOWN on start.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { ALICE_KEY, eventually, rest, startTestInstance } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

let database: TestDatabase;
let sink: Sink;
const instances: RunningInstance[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSink();
});

afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await sink?.close();
  await database?.drop();
});

it("forwards events accepted before any worker ran, and marks DOWN a monitor whose deadline passed meanwhile", async () => {
  const server = await startTestInstance(database.url, { role: "server" });
  instances.push(server);
  const endpoint = (await rest<{ slug: string }>(server, ALICE_KEY, "POST", "/endpoints", { name: "durable", forwardUrls: [sink.url] }))
    .body;
  for (let index = 0; index < 3; index++) {
    expect((await fetch(`${server.url}/in/${endpoint.slug}`, { method: "POST", body: `event ${index}` })).status).toBe(202);
  }
  const monitor = (
    await rest<{ id: string; token: string }>(server, ALICE_KEY, "POST", "/monitors", { name: "m", intervalSeconds: 1, graceSeconds: 0 })
  ).body;
  await fetch(`${server.url}/ping/${monitor.token}`);
  await server.stop();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(sink.requests).toHaveLength(0);

  const worker = await startTestInstance(database.url, { role: "all" });
  instances.push(worker);
  const received = await sink.waitForRequests(3, 15_000);
  expect(received.map((request) => request.body).sort()).toEqual(["event 0", "event 1", "event 2"]);
  await eventually(
    async () => (await rest<{ status: string }>(worker, ALICE_KEY, "GET", `/monitors/${monitor.id}`)).body.status === "DOWN",
  );
  await eventually(async () => {
    const { rows } = await worker.runtime.pool.query<{ state: string }>(
      "SELECT state FROM status_changes WHERE resource_id = $1 ORDER BY changed_at, id",
      [monitor.id],
    );
    return rows.map((row) => row.state).join() === "UP,DOWN";
  });
});
