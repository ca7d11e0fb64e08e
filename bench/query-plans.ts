/**
 * Scenario 7's evidence: EXPLAIN (ANALYZE, BUFFERS) of the statements the
 * dispatch path runs on every wake-up or batch, at each backlog size, to show
 * whether they stay on indexes as the backlog grows. The statements are
 * Runlater's own, imported from the modules that run them; pg-boss's fetch is
 * built by pg-boss itself. Every statement runs in a transaction that is
 * rolled back, so locks and writes leave nothing behind.
 */
import type pg from "pg";
import { DEFAULT_SCHEMA, fetchNextJob } from "pg-boss/dist/plans.js";
import { v7 as uuidv7 } from "uuid";
import { CLAIM_SQL, CLAIM_WRITE_SQL } from "../server/services/attempts.js";
import { DISPATCH_QUEUE, NEXT_DUE_SQL } from "../server/services/dispatch-queue.js";
import { LIVE_EXECUTIONS_SQL, LIVE_TASKS_SQL } from "../server/services/live-events.js";
import { ADMIT_UNQUEUED_SQL, TOP_UP_UNQUEUED_SQL, WAITING_QUEUES_SQL } from "../server/services/queues.js";
import { insertTasksQuery, type TaskToInsert } from "../server/services/tasks.js";
import { DEFAULT_ORGANIZATION_CONCURRENCY } from "../worker/dispatcher.js";
import { MULTI_ROW_INSERT } from "./baselines.js";
import { withClient } from "./harness.js";

/** What one statement's plan says, in short (the JSON keeps all of it). */
export interface PlanSummary {
  planningMs: number;
  executionMs: number;
  /** The root plan node: "ModifyTable", "LockRows", "Limit"… */
  topNode: string;
  /** Every index the plan reads, in plan order. */
  indexes: string[];
  /** Sequential scans, with the rows each read (returned and filtered out, over all loops). */
  seqScans: Array<{ relation: string; rowsRead: number }>;
  /** Shared buffers hit or read by the statement. */
  buffers: number;
  /** Rows the statement returned (or wrote). */
  rows: number;
  /** EXPLAIN's own output, for a closer look. */
  explained: unknown;
}

/** Small tables (organisations, queues) are rightly scanned whole; the backlog's must not be. */
const SEQ_SCAN_ROWS_TOLERATED = 1000;

export const USES_INDEX_RULE = `reads an index, no sequential scan of more than ${SEQ_SCAN_ROWS_TOLERATED.toLocaleString("en-US")} rows`;

export function usesIndex(plan: PlanSummary): boolean {
  return plan.indexes.length > 0 && plan.seqScans.every((scan) => scan.rowsRead <= SEQ_SCAN_ROWS_TOLERATED);
}

/** As worker/dispatcher.ts asks: a batch is at most MAX_FETCH_BATCH attempts. */
const FETCH_BATCH = 100;

interface HotQuery {
  text: string;
  values: unknown[];
}

/** The hot statements, with parameters taken from what the database holds now. */
async function hotQueries(client: pg.Client): Promise<Record<string, HotQuery>> {
  // A claim locks the attempts a fetch just handed out: pending, admitted, the earliest due.
  const { rows: claimable } = await client.query<{ id: string }>(
    `SELECT id FROM executions WHERE status = 'PENDING' AND admitted_at IS NOT NULL ORDER BY scheduled_for, id LIMIT ${FETCH_BATCH}`,
  );
  const claimIds = claimable.map((row) => row.id);
  // The dispatcher's fetch options: organisations with a non-default concurrency limit get a tier (organizationTiers).
  const { rows: limits } = await client.query<{ id: string; limit: number }>(
    `SELECT id, concurrency_limit AS "limit" FROM organizations WHERE concurrency_limit <> $1`,
    [DEFAULT_ORGANIZATION_CONCURRENCY],
  );
  const { rows: queue } = await client.query<{ table: string; policy: string }>(
    `SELECT table_name AS "table", policy FROM ${DEFAULT_SCHEMA}.queue WHERE name = $1`,
    [DISPATCH_QUEUE],
  );
  if (!queue[0]) throw new Error(`pg-boss has no queue ${DISPATCH_QUEUE}`);
  const fetch = fetchNextJob({
    schema: DEFAULT_SCHEMA,
    table: queue[0].table,
    name: DISPATCH_QUEUE,
    policy: queue[0].policy,
    limit: FETCH_BATCH,
    groupConcurrency: {
      default: DEFAULT_ORGANIZATION_CONCURRENCY,
      tiers: Object.fromEntries(limits.map((organization) => [organization.id, organization.limit])),
    },
  });

  return {
    // The statements themselves, imported from where they run, so the plans follow the code.
    // Every take claims what it fetched: lock, read and mark RUNNING in one statement.
    claim: { text: CLAIM_SQL, values: [claimIds] },
    // The claim of attempts whose organisation has breaker rows, once their breakers are known to be closed.
    claimWrite: { text: CLAIM_WRITE_SQL, values: [claimIds] },
    // Every wake-up of a worker asks which queues have attempts to admit.
    admissionDue: { text: WAITING_QUEUES_SQL, values: [] },
    // Every take admits up to its batch of due attempts outside queues.
    admissionAdmit: { text: ADMIT_UNQUEUED_SQL, values: [FETCH_BATCH] },
    // After a short take: every organisation topped up to its limit.
    admissionTopUp: { text: TOP_UP_UNQUEUED_SQL, values: [100] },
    // After a take that found less than it asked for.
    nextDue: { text: NEXT_DUE_SQL, values: [] },
    // Every batch of live notifications, on each server's LISTEN connection: the attempts named, then their tasks.
    liveExecutions: { text: LIVE_EXECUTIONS_SQL, values: [claimIds] },
    liveTasks: { text: LIVE_TASKS_SQL, values: [[], claimIds] },
    // pg-boss's fetch as worker/dispatcher.ts calls it (boss.fetch with batchSize and groupConcurrency).
    pgBossFetch: { text: fetch.text, values: fetch.values },
  };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  Plans?: PlanNode[];
}

interface ExplainOutput {
  Plan: PlanNode;
  "Planning Time": number;
  "Execution Time": number;
  /** Time spent in triggers, foreign-key checks among them (those have a "Constraint Name"). */
  Triggers?: Array<{ "Trigger Name": string; "Constraint Name"?: string; Time: number; Calls: number }>;
}

function summarizePlan(output: ExplainOutput): PlanSummary {
  const indexes: string[] = [];
  const seqScans: PlanSummary["seqScans"] = [];
  const walk = (node: PlanNode) => {
    if (node["Index Name"] && !indexes.includes(node["Index Name"])) indexes.push(node["Index Name"]);
    if (node["Node Type"] === "Seq Scan") {
      const perLoop = (node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0);
      seqScans.push({ relation: node["Relation Name"] ?? "?", rowsRead: perLoop * (node["Actual Loops"] ?? 1) });
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(output.Plan);
  return {
    planningMs: output["Planning Time"],
    executionMs: output["Execution Time"],
    topNode: output.Plan["Node Type"],
    indexes,
    seqScans,
    buffers: (output.Plan["Shared Hit Blocks"] ?? 0) + (output.Plan["Shared Read Blocks"] ?? 0),
    rows: output.Plan["Actual Rows"] ?? 0,
    explained: output,
  };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of each hot statement, each in a transaction rolled
 * back. Each runs twice and the second is kept: in Runlater they run warm, over
 * and over, on long-lived connections.
 */
export async function explainHotQueries(databaseUrl: string): Promise<Record<string, PlanSummary>> {
  return withClient(databaseUrl, async (client) => {
    const plans: Record<string, PlanSummary> = {};
    for (const [name, query] of Object.entries(await hotQueries(client))) {
      plans[name] = summarizePlan(await explainWarm(client, name, query));
    }
    return plans;
  });
}

/** EXPLAIN (ANALYZE, BUFFERS) of `query` in a transaction rolled back, twice; the second, warm, run's output. */
async function explainWarm(client: pg.Client, name: string, query: HotQuery): Promise<ExplainOutput> {
  let output: ExplainOutput | undefined;
  for (let run = 0; run < 2; run++) {
    await client.query("BEGIN");
    try {
      const { rows } = await client.query<{ "QUERY PLAN": ExplainOutput[] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query.text}`,
        query.values,
      );
      output = rows[0]?.["QUERY PLAN"][0];
    } finally {
      await client.query("ROLLBACK");
    }
  }
  if (!output) throw new Error(`EXPLAIN ${name} returned no plan`);
  return output;
}

/** PostgreSQL's own time for one batch: Runlater's statement and the baseline's, for the same number of tasks. */
export interface BatchInsertWork {
  tasks: number;
  /** Runlater's statement (tasks, their first executions, the live-event triggers), executed. */
  runlaterMs: number;
  /** Of which the foreign-key checks (one per row and key: tasks → organisation, executions → their task). */
  foreignKeyChecksMs: number;
  /** Foreign-key checks the statement ran, per task. */
  foreignKeyChecksPerTask: number;
  /** Indexes on the rows a task writes (tasks and executions). */
  indexes: number;
  /** Of which the statement triggers that publish live events. */
  eventTriggersMs: number;
  /** The baseline's multi-row INSERT of as many rows. */
  baselineMs: number;
}

/**
 * Scenario 2's evidence: what the database itself spends on a batch, Runlater's
 * statement (insertTasksQuery, as batch push runs it) against the baseline's
 * (bench_tasks must exist: rawMultiRowInserts creates it). Both rolled back.
 */
export async function explainBatchInserts(
  databaseUrl: string,
  options: { organizationId: string; tasks: TaskToInsert[]; targetUrl: string },
): Promise<BatchInsertWork> {
  return withClient(databaseUrl, async (client) => {
    const runlater = await explainWarm(client, "batch insert", insertTasksQuery(options.organizationId, options.tasks));
    const baseline = await explainWarm(client, "baseline batch insert", {
      text: MULTI_ROW_INSERT,
      values: [options.tasks.map(() => uuidv7()), options.organizationId, options.targetUrl],
    });
    const triggers = runlater.Triggers ?? [];
    const sum = (list: typeof triggers) => list.reduce((total, trigger) => total + trigger.Time, 0);
    const foreignKeyChecks = triggers.filter((trigger) => trigger["Constraint Name"]);
    const { rows } = await client.query<{ indexes: number }>(
      "SELECT count(*)::int AS indexes FROM pg_index WHERE indrelid IN ('tasks'::regclass, 'executions'::regclass)",
    );
    return {
      tasks: options.tasks.length,
      runlaterMs: runlater["Execution Time"],
      foreignKeyChecksMs: sum(foreignKeyChecks),
      foreignKeyChecksPerTask: foreignKeyChecks.reduce((total, trigger) => total + trigger.Calls, 0) / options.tasks.length,
      indexes: rows[0]?.indexes ?? 0,
      eventTriggersMs: sum(triggers.filter((trigger) => !trigger["Constraint Name"])),
      baselineMs: baseline["Execution Time"],
    };
  });
}

/** "claim: 0.52 ms (plan 0.21 + run 0.31), LockRows, 812 buffers, indexes executions_pkey, tasks_pkey". */
export function describePlan(name: string, plan: PlanSummary): string {
  const seqScans = plan.seqScans.map((scan) => `${scan.relation} (${scan.rowsRead.toLocaleString("en-US")} rows)`);
  return (
    `${name}: ${(plan.planningMs + plan.executionMs).toFixed(2)} ms (plan ${plan.planningMs.toFixed(2)} + run ${plan.executionMs.toFixed(2)}), ` +
    `${plan.topNode}, ${plan.buffers.toLocaleString("en-US")} buffers, ` +
    `indexes ${plan.indexes.join(", ") || "none"}${seqScans.length ? `; seq scans ${seqScans.join(", ")}` : ""}`
  );
}
