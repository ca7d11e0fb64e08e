/**
 * Heartbeat monitors over real HTTP: creation, the ping URLs (success, start,
 * fail, exit codes, logs), the checker taking a silent monitor DOWN within
 * 5 s of its deadline exactly once, pause, validation and isolation.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../../server/db/pool.js";
import { createLogger } from "../../server/logger.js";
import { checkDueMonitors } from "../../server/services/monitors.js";
import { createPersonas, eventually, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();
let alice: Persona;
let bob: Persona;

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(context.database.url));
});

interface Monitor {
  id: string;
  token: string;
  pingUrl: string;
  status: string;
  running: boolean;
  lastDurationMs: number | null;
  downAt: string | null;
  expectedAt: string | null;
}
interface MonitorPing {
  kind: string;
  exitCode: number | null;
  durationMs: number | null;
  body: string | null;
  method: string;
}

async function createMonitor(persona: Persona, fields: Record<string, unknown>): Promise<Monitor> {
  const created = await rest<Monitor>(context.instance, persona.apiKey, "POST", "/monitors", fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const getMonitor = async (persona: Persona, id: string) =>
  (await rest<Monitor>(context.instance, persona.apiKey, "GET", `/monitors/${id}`)).body;

function ping(token: string, suffix = "", init: RequestInit = {}) {
  return fetch(`${context.instance.url}/ping/${token}${suffix}`, init);
}

async function statusChanges(monitorId: string): Promise<string[]> {
  const { rows } = await context.instance.runtime.pool.query<{ state: string }>(
    "SELECT state FROM status_changes WHERE resource_id = $1 ORDER BY changed_at, id",
    [monitorId],
  );
  return rows.map((row) => row.state);
}

describe("pings", () => {
  it("creates a monitor with its ping URL; the first ping brings it from NEW to UP", async () => {
    const monitor = await createMonitor(alice, { name: "backup", intervalSeconds: 3600, graceSeconds: 300 });
    expect(monitor).toMatchObject({ status: "NEW", downAt: null });
    expect(monitor.pingUrl).toMatch(new RegExp(`/ping/${monitor.token}$`));
    const answer = await ping(monitor.token);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe("OK");
    const after = await getMonitor(alice, monitor.id);
    expect(after.status).toBe("UP");
    expect(new Date(after.downAt as string).getTime() - new Date(after.expectedAt as string).getTime()).toBe(300_000);
  });

  it("times runs with /start, fails with /fail or a non-zero exit code, and keeps the first 10 KiB of the body as the log", async () => {
    const monitor = await createMonitor(alice, { name: "etl", cron: "0 3 * * *", timezone: "America/New_York" });
    expect((await ping(monitor.token, "/start")).status).toBe(200);
    expect((await getMonitor(alice, monitor.id)).running).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await ping(monitor.token, "/0", { method: "POST", body: "done\n" })).status).toBe(200);
    const finished = await getMonitor(alice, monitor.id);
    expect(finished).toMatchObject({ status: "UP", running: false });
    expect(finished.lastDurationMs).toBeGreaterThanOrEqual(100);

    expect((await ping(monitor.token, "/3", { method: "POST", body: "x".repeat(20_000) })).status).toBe(200);
    expect((await getMonitor(alice, monitor.id)).status).toBe("DOWN");
    expect((await ping(monitor.token)).status).toBe(200);
    expect((await getMonitor(alice, monitor.id)).status).toBe("UP");
    expect((await ping(monitor.token, "/fail")).status).toBe(200);
    expect((await getMonitor(alice, monitor.id)).status).toBe("DOWN");

    const { body } = await rest<{ edges: Array<{ node: MonitorPing }> }>(
      context.instance,
      alice.apiKey,
      "GET",
      `/monitors/${monitor.id}/pings`,
    );
    const pings = body.edges.map((edge) => edge.node).reverse();
    expect(pings.map((p) => [p.kind, p.exitCode])).toEqual([
      ["START", null],
      ["SUCCESS", 0],
      ["FAIL", 3],
      ["SUCCESS", null],
      ["FAIL", null],
    ]);
    expect(pings[1]?.durationMs).toBeGreaterThanOrEqual(100);
    expect(pings[1]?.body).toBe("done\n");
    expect(pings[2]?.body).toHaveLength(10 * 1024);
    expect(await statusChanges(monitor.id)).toEqual(["UP", "DOWN", "UP", "DOWN"]);
  });

  it("answers 404 for an unknown token or action, 405 for other methods", async () => {
    const monitor = await createMonitor(alice, { name: "misc", intervalSeconds: 60 });
    expect((await ping("no-such-token")).status).toBe(404);
    expect((await ping(monitor.token, "/256")).status).toBe(404);
    expect((await ping(monitor.token, "/start/extra")).status).toBe(404);
    expect((await ping(monitor.token, "", { method: "DELETE" })).status).toBe(405);
    expect((await ping(monitor.token, "", { method: "HEAD" })).status).toBe(200);
  });
});

describe("the checker", () => {
  it("takes a silent monitor DOWN within 5 s of its deadline, exactly once, and back UP with a ping", async () => {
    const monitor = await createMonitor(alice, { name: "heartbeat", intervalSeconds: 1, graceSeconds: 1 });
    await ping(monitor.token);
    const deadline = new Date((await getMonitor(alice, monitor.id)).downAt as string).getTime();
    await eventually(async () => (await statusChanges(monitor.id)).includes("DOWN"), 10_000, 20);
    const { rows } = await context.instance.runtime.pool.query<{ changedAt: Date }>(
      `SELECT changed_at AS "changedAt" FROM status_changes WHERE resource_id = $1 AND state = 'DOWN'`,
      [monitor.id],
    );
    expect(rows[0]!.changedAt.getTime() - deadline).toBeLessThan(5000);
    expect((await getMonitor(alice, monitor.id)).status).toBe("DOWN");
    // More checker passes find nothing more to do.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await statusChanges(monitor.id)).toEqual(["UP", "DOWN"]);
    await ping(monitor.token);
    expect(await statusChanges(monitor.id)).toEqual(["UP", "DOWN", "UP"]);
  });

  it("two checkers racing on the same due monitors record each DOWN once", async () => {
    const monitors = await Promise.all(
      Array.from({ length: 20 }, (_, index) => createMonitor(alice, { name: `race ${index}`, intervalSeconds: 3600, graceSeconds: 0 })),
    );
    for (const monitor of monitors) await ping(monitor.token);
    const later = new Date(Date.now() + 3601_000);
    const pools = [0, 1].map(() =>
      createPool(context.database.url, { max: 2, logger: createLogger({ level: "silent" }), name: "checker" }),
    );
    try {
      const results = await Promise.all(
        pools.flatMap((pool) => [
          checkDueMonitors(context.instance.runtime.boss, pool, later),
          checkDueMonitors(context.instance.runtime.boss, pool, later),
        ]),
      );
      // Monitors of earlier tests are due then too: the count covers them; the per-monitor history below is exact.
      expect(results.reduce((sum, result) => sum + result.wentDown, 0)).toBeGreaterThanOrEqual(20);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    for (const monitor of monitors) expect(await statusChanges(monitor.id)).toEqual(["UP", "DOWN"]);
  });

  it("a paused monitor never goes DOWN; the next ping resumes it", async () => {
    const monitor = await createMonitor(alice, { name: "paused", intervalSeconds: 1, graceSeconds: 0 });
    await ping(monitor.token);
    const paused = await rest<Monitor>(context.instance, alice.apiKey, "POST", `/monitors/${monitor.id}/pause`);
    expect(paused.body.status).toBe("PAUSED");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await getMonitor(alice, monitor.id)).status).toBe("PAUSED");
    expect(await statusChanges(monitor.id)).toEqual(["UP"]);
    await ping(monitor.token);
    expect((await getMonitor(alice, monitor.id)).status).toBe("UP");
    const resumedByApi = await rest<Monitor>(context.instance, alice.apiKey, "POST", `/monitors/${monitor.id}/resume`);
    expect(resumedByApi.status).toBe(200);
  });
});

describe("resuming", () => {
  it("a /start ping to a paused monitor resumes it afresh: no DOWN from the pings before the pause", async () => {
    // Paused after a success, and after a failure: either way the pings before the pause say nothing any more.
    await Promise.all(
      ["", "/fail"].map(async (last) => {
        const monitor = await createMonitor(alice, { name: `paused after ${last || "success"}`, intervalSeconds: 1, graceSeconds: 3 });
        await ping(monitor.token, last);
        await rest(context.instance, alice.apiKey, "POST", `/monitors/${monitor.id}/pause`);
        // Past the old ping's deadline (1 s + 3 s of grace).
        await new Promise((resolve) => setTimeout(resolve, 4_500));
        const downBefore = (await statusChanges(monitor.id)).filter((state) => state === "DOWN").length;
        expect((await ping(monitor.token, "/start")).status).toBe(200);
        const started = await getMonitor(alice, monitor.id);
        // A run has begun; it has its grace period to finish.
        expect(started.running).toBe(true);
        expect(started.status).not.toBe("DOWN");
        await ping(monitor.token);
        const finished = await getMonitor(alice, monitor.id);
        expect(finished.status).toBe("UP");
        // Timed from this run's start, not from one before the pause.
        expect(finished.lastDurationMs).toBeLessThan(3_000);
        expect((await statusChanges(monitor.id)).filter((state) => state === "DOWN")).toHaveLength(downBefore);
      }),
    );
  });

  it("keeps a cron monitor's time zone when only its expression changes", async () => {
    const monitor = await createMonitor(alice, { name: "nightly", cron: "30 2 * * *", timezone: "Europe/Berlin" });
    const updated = await rest<{ cron: string; timezone: string }>(context.instance, alice.apiKey, "PATCH", `/monitors/${monitor.id}`, {
      cron: "0 3 * * *",
    });
    expect(updated.body).toMatchObject({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
  });
});

describe("validation and isolation", () => {
  it("names the field at fault", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ intervalSeconds: 60 }, "name"],
      [{ name: "x" }, "intervalSeconds"],
      [{ name: "x", intervalSeconds: 0 }, "intervalSeconds"],
      [{ name: "x", intervalSeconds: 60, cron: "* * * * *" }, "cron"],
      [{ name: "x", cron: "not cron" }, "cron"],
      [{ name: "x", cron: "* * * * *", timezone: "Mars/Olympus" }, "timezone"],
      [{ name: "x", intervalSeconds: 60, graceSeconds: -1 }, "graceSeconds"],
    ];
    for (const [fields, field] of cases) {
      const answer = await rest<{ error: { field: string } }>(context.instance, alice.apiKey, "POST", "/monitors", fields);
      expect([400, 422], JSON.stringify(fields)).toContain(answer.status);
      expect(answer.body.error.field, JSON.stringify(fields)).toBe(field);
    }
  });

  it("bob sees none of alice's monitors or pings and cannot change them", async () => {
    const monitor = await createMonitor(alice, { name: "alice only", intervalSeconds: 60 });
    await ping(monitor.token);
    expect((await rest<Monitor[]>(context.instance, bob.apiKey, "GET", "/monitors")).body.map((m) => m.id)).not.toContain(monitor.id);
    for (const [method, path, body] of [
      ["GET", `/monitors/${monitor.id}`],
      ["PATCH", `/monitors/${monitor.id}`, { name: "mine" }],
      ["DELETE", `/monitors/${monitor.id}`],
      ["POST", `/monitors/${monitor.id}/pause`],
      ["POST", `/monitors/${monitor.id}/resume`],
      ["GET", `/monitors/${monitor.id}/pings`],
    ] as Array<[string, string, unknown?]>) {
      expect((await rest(context.instance, bob.apiKey, method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    const viaGraphQL = await graphql(context.instance, bob.apiKey, `query($id: ID!) { monitor(id: $id) { id } }`, { id: monitor.id });
    expect(viaGraphQL.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await getMonitor(alice, monitor.id)).status).toBe("UP");
  });
});
