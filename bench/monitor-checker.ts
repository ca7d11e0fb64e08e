/**
 * Measures the monitor checker on `--database` (a migrated Runlater
 * database): creates `--monitors` interval monitors whose deadline has just
 * passed, plus as many that are not due, then runs checker passes until none
 * is left and prints monitors/s; then times an idle pass (nothing due), which
 * must not depend on how many monitors exist.
 *
 *   node --import tsx bench/monitor-checker.ts --database postgres://…/runlater [--monitors 10000]
 */
import { parseArgs } from "node:util";
import { PgBoss } from "pg-boss";
import { createPool } from "../server/db/pool.js";
import { createLogger } from "../server/logger.js";
import { checkDueMonitors, nextMonitorDeadline } from "../server/services/monitors.js";

const { values } = parseArgs({ options: { database: { type: "string" }, monitors: { type: "string", default: "10000" } } });
if (!values.database) throw new Error("--database <postgres url> is required");
const count = Number(values.monitors);
const pool = createPool(values.database, { max: 4, logger: createLogger({ level: "silent" }), name: "bench-monitor-checker" });
const boss = new PgBoss({ connectionString: values.database, supervise: false, schedule: false });
await boss.start();
try {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM organizations ORDER BY created_at LIMIT 1");
  const organizationId = rows[0]?.id;
  if (!organizationId) throw new Error("start Runlater once on this database first (it creates the organisation)");
  await pool.query("DELETE FROM monitors WHERE name LIKE 'bench %'");
  // Half due a second ago, half due in an hour.
  await pool.query(
    `INSERT INTO monitors (id, organization_id, name, token, interval_seconds, grace_seconds, status, last_ping_at, last_ping_kind, alert_after)
     SELECT gen_random_uuid(), $1, 'bench ' || n, 'bench-' || n || '-' || md5(random()::text), 3600, 60, 'UP',
            now() - CASE WHEN n <= $2 THEN interval '3661 seconds' ELSE interval '1 second' END, 'SUCCESS',
            now() - CASE WHEN n <= $2 THEN interval '1 second' ELSE interval '-3659 seconds' END
     FROM generate_series(1, $2 * 2) AS n`,
    [organizationId, count],
  );
  await pool.query("ANALYZE monitors");
  const started = performance.now();
  let down = 0;
  for (;;) {
    const pass = await checkDueMonitors(boss, pool);
    down += pass.wentDown;
    if (pass.claimed === 0) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const idleStarted = performance.now();
  const idlePasses = 100;
  for (let index = 0; index < idlePasses; index++) {
    await checkDueMonitors(boss, pool);
    await nextMonitorDeadline(pool);
  }
  const idleMs = (performance.now() - idleStarted) / idlePasses;
  console.log(
    `${down} of ${count * 2} monitors went DOWN in ${seconds.toFixed(2)} s (${Math.round(down / seconds)} monitors/s); ` +
      `an idle checker pass (claim + next deadline) with ${count * 2} monitors: ${idleMs.toFixed(2)} ms`,
  );
  await pool.query("DELETE FROM monitors WHERE name LIKE 'bench %'");
} finally {
  await boss.stop({ graceful: false, close: true });
  await pool.end();
}
