/**
 * Recurring (CRON) tasks: push, pause, resume, schedule updates, manual
 * triggers, and the claim of upcoming slots that the cron scheduler
 * (worker/cron-scheduler.ts) runs.
 *
 * A slot's run is created ahead of its time. A cron task keeps in
 * `next_run_at` the next slot that has no run yet (null while paused or
 * cancelled). Up to CRON_LOOK_AHEAD_MS before that slot, a scheduler claims
 * the task row and, in one transaction, adds the slot's Execution (`run` = the
 * slot's number, attempt 1, `scheduled_for` = `cron_slot` = the slot), gives
 * it its pg-boss job due at the slot (a task in a named queue waits for
 * admission at the slot instead, as any attempt of its queue), records the
 * slot in `prepared_slot` and moves `next_run_at` to the following slot. At
 * the slot itself nothing is computed or written: the dispatcher fetches the
 * job like any due attempt. The API's nextRunAt is `prepared_slot` until it
 * passes, then `next_run_at` (upcomingSlot).
 *
 *   slot - look-ahead: claim ─▶ PENDING execution + job due at the slot
 *   slot:              dispatcher fetches it ─▶ overlap check ─▶ RUNNING …
 *
 * Decided at the slot, not ahead: SKIP_IF_RUNNING looks for a run still in
 * flight when the dispatcher claims the attempt (services/attempts.ts), and
 * records the slot MISSED if there is one. Pausing, rescheduling or cancelling
 * withdraws a run created for a slot still to come (withdrawPreparedRun).
 * Slots already past when claimed (downtime) follow the catch-up policy as
 * before, with the overlap policy applied at once; they are recorded as
 * MISSED executions when they do not run, so the gap is visible. The task
 * stays SCHEDULED between runs. A run created before its slot is not
 * withdrawn by downtime that starts after it was created: it runs when a
 * worker is back, like any due attempt.
 *
 * Exactly once: a task is claimed with `FOR UPDATE SKIP LOCKED` over
 * `tasks_next_run_at_idx` and `next_run_at` is moved in the same transaction
 * (a compare-and-set on the claimed slot), so any number of schedulers can
 * run; (task_id, cron_slot) is unique, so a slot cannot be written twice
 * whatever happens, and (task_id, run, attempt) too.
 */
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import {
  CATCH_UP_POLICIES,
  type CatchUpPolicy,
  type DueSlotPlan,
  nextCronOccurrence,
  OVERLAP_POLICIES,
  type OverlapPolicy,
  overlapSkipReason,
  planDueSlots,
  validateCronExpression,
  validateTimeZone,
} from "./cron-schedule.js";
import { type AttemptToEnqueue, bossDb, DISPATCH_QUEUE, enqueueAttempts } from "./dispatch-queue.js";
import type { TaskSpec } from "./task-input.js";
import { asUuid, TASK_COLUMNS, type TaskDependencies, type TaskRow } from "./tasks.js";

/** Tasks one claim transaction takes at most; the scheduler claims again at once when it got a full batch. */
export const CRON_CLAIM_BATCH = 1000;

/**
 * How long before its slot a run is created. Covers the time schedulers need
 * to prepare every run of a busy slot (10,000 tasks: about 3 s on a loaded
 * 2-core machine) with room to spare; it must stay below a minute, the
 * shortest gap between two slots of a 5-field cron expression, so a task has
 * at most one run prepared ahead.
 */
export const CRON_LOOK_AHEAD_MS = 10_000;

/** The slot a cron task fires at next, as the API shows it: the prepared run's slot until it passes, then the cursor. */
export function upcomingSlot(task: Pick<TaskRow, "nextRunAt" | "preparedSlot">, now = new Date()): Date | null {
  if (task.preparedSlot && task.preparedSlot.getTime() > now.getTime()) return task.preparedSlot;
  return task.nextRunAt;
}

/** Writes a CRON task whose first slot is the first occurrence after `now`. It has no execution until then. */
export async function insertCronTask(client: PoolClient, organizationId: string, spec: TaskSpec, now: Date): Promise<TaskRow> {
  const schedule = spec.schedule;
  if (!schedule) throw new Error("insertCronTask needs a spec with a schedule");
  const nextRunAt = firstSlotAfter(schedule.cron, schedule.timezone, now);
  const { rows } = await client.query<TaskRow>(
    `INSERT INTO tasks (id, organization_id, type, name, queue, url, method, headers, body, body_encoding, retries, timeout_ms,
                        run_at, cron, timezone, next_run_at, catch_up, overlap, callback_url, callback_on, on_failure_url, priority)
     VALUES ($1, $2, 'CRON', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $12, $15, $16, $17, $18, $19, $20)
     RETURNING ${TASK_COLUMNS}`,
    [
      uuidv7(),
      organizationId,
      spec.name,
      spec.queue,
      spec.url,
      spec.method,
      JSON.stringify(spec.headers),
      spec.body,
      spec.bodyEncoding,
      spec.retries,
      spec.timeoutMs,
      nextRunAt,
      schedule.cron,
      schedule.timezone,
      schedule.catchUp,
      schedule.overlap,
      spec.callbackUrl ?? null,
      spec.callbackOn ?? null,
      spec.onFailureUrl ?? null,
      spec.priority ?? 0,
    ],
  );
  return rows[0] as TaskRow;
}

function firstSlotAfter(cron: string, timezone: string, now: Date): Date {
  const next = nextCronOccurrence(cron, timezone, now);
  if (!next) throw validationError("cron", `cron "${cron}" has no occurrence after ${now.toISOString()}`);
  return next;
}

/** Locks a cron task of the organisation; 404 for another organisation's task, 409 for a one-off or cancelled one. */
async function lockCronTask(client: PoolClient, organizationId: string, taskId: string, action: string): Promise<TaskRow> {
  const { rows } = await client.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND organization_id = $2 FOR UPDATE`, [
    asUuid(taskId),
    organizationId,
  ]);
  const task = rows[0];
  if (!task) throw notFound("task", taskId);
  if (task.type !== "CRON") throw new DomainError("CONFLICT", `task ${taskId} is not a cron task; only cron tasks can be ${action}`);
  if (task.status === "CANCELLED") throw new DomainError("CONFLICT", `task ${taskId} is cancelled; a cancelled task cannot be ${action}`);
  return task;
}

/** Stops a cron task's slots until it is resumed. A run already started finishes; history is kept. */
export async function pauseTask(deps: Pick<TaskDependencies, "pool" | "boss">, organizationId: string, taskId: string): Promise<TaskRow> {
  return withTransaction(deps.pool, async (client) => {
    const task = await lockCronTask(client, organizationId, taskId, "paused");
    if (task.paused) return task;
    await withdrawPreparedRun(deps.boss, client, task.id);
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET paused = true, next_run_at = NULL, prepared_slot = NULL, updated_at = now() WHERE id = $1
       RETURNING ${TASK_COLUMNS}`,
      [task.id],
    );
    return rows[0] as TaskRow;
  });
}

/** Resumes a paused cron task from its first slot after now: slots that passed while paused are not run nor recorded. */
export async function resumeTask(
  deps: Pick<TaskDependencies, "pool">,
  organizationId: string,
  taskId: string,
  now = new Date(),
): Promise<TaskRow> {
  return withTransaction(deps.pool, async (client) => {
    const task = await lockCronTask(client, organizationId, taskId, "resumed");
    if (!task.paused) return task;
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET paused = false, next_run_at = $2, updated_at = now() WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [task.id, firstSlotAfter(task.cron as string, task.timezone ?? "UTC", now)],
    );
    return rows[0] as TaskRow;
  });
}

export interface ScheduleUpdate {
  cron?: string | null;
  timezone?: string | null;
  catchUp?: string | null;
  overlap?: string | null;
}

/**
 * Changes a cron task's schedule or policies; omitted fields keep their
 * value. The next slot is recomputed from now (unless the task is paused);
 * executions so far are kept.
 */
export async function updateTaskSchedule(
  deps: Pick<TaskDependencies, "pool" | "boss">,
  organizationId: string,
  taskId: string,
  update: ScheduleUpdate,
  now = new Date(),
): Promise<TaskRow> {
  const cron = update.cron == null ? undefined : validateCronExpression(update.cron);
  const timezone = update.timezone == null ? undefined : validateTimeZone(update.timezone);
  const catchUp = update.catchUp == null ? undefined : oneOf("catchUp", update.catchUp, CATCH_UP_POLICIES);
  const overlap = update.overlap == null ? undefined : oneOf("overlap", update.overlap, OVERLAP_POLICIES);
  return withTransaction(deps.pool, async (client) => {
    const task = await lockCronTask(client, organizationId, taskId, "rescheduled");
    const next = { cron: cron ?? (task.cron as string), timezone: timezone ?? task.timezone ?? "UTC" };
    // The run prepared for the old schedule's next slot goes; the new schedule's slot gets its own.
    await withdrawPreparedRun(deps.boss, client, task.id);
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET cron = $2, timezone = $3, catch_up = $4, overlap = $5, next_run_at = $6, prepared_slot = NULL,
              updated_at = now()
       WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
      [
        task.id,
        next.cron,
        next.timezone,
        catchUp ?? task.catchUp,
        overlap ?? task.overlap,
        task.paused ? null : firstSlotAfter(next.cron, next.timezone, now),
      ],
    );
    return rows[0] as TaskRow;
  });
}

/**
 * Removes the run created ahead for a slot still to come (with its pg-boss
 * job), as if it had never been prepared, and gives its run number back
 * unless a later run (a manual trigger) has been numbered since. The
 * caller holds the task row's lock and resets `prepared_slot`. A run whose
 * slot has come is not withdrawn: it has fired.
 */
export async function withdrawPreparedRun(boss: PgBoss, client: PoolClient, taskId: string): Promise<void> {
  const { rows } = await client.query<{ id: string; admitted: boolean; run: number }>(
    `DELETE FROM executions WHERE task_id = $1 AND cron_slot > now() AND status = 'PENDING'
     RETURNING id, admitted_at IS NOT NULL AS admitted, run`,
    [taskId],
  );
  if (rows.length === 0) return;
  const jobIds = rows.filter((row) => row.admitted).map((row) => row.id);
  if (jobIds.length > 0) await boss.deleteJob(DISPATCH_QUEUE, jobIds, { db: bossDb(client) });
  // The count goes back to the run before the withdrawn ones only while they are still the latest: a manual trigger
  // after the run was prepared took the next number, which the next slot must not take again (the unique run
  // number would fail the scheduler's whole batch, every second). Then the withdrawn number stays a gap. Not
  // recounted from the attempts left: history retention may have deleted every earlier run.
  const withdrawn = rows.map((row) => row.run);
  await client.query("UPDATE tasks SET runs = CASE WHEN runs = $3 THEN $2 ELSE runs END, updated_at = now() WHERE id = $1", [
    taskId,
    Math.min(...withdrawn) - 1,
    Math.max(...withdrawn),
  ]);
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw validationError(field, `${field} must be one of ${allowed.join(", ")}`);
  return value as T;
}

/**
 * An extra run of a cron task, now, besides its schedule (the next slot does
 * not move). Runs even while the task is paused or a run is in flight: it is
 * an explicit request. Called by triggerTask with the task row locked.
 */
export async function triggerCronTask(boss: PgBoss, client: PoolClient, task: TaskRow, now = new Date()): Promise<TaskRow> {
  if (task.status === "CANCELLED") throw new DomainError("CONFLICT", `task ${task.id} is cancelled and cannot be triggered`);
  const executionId = uuidv7();
  const { rows } = await client.query<TaskRow>(
    `WITH task AS (
       UPDATE tasks SET runs = runs + 1, updated_at = now() WHERE id = $1 RETURNING ${TASK_COLUMNS}
     ), execution AS (
       INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for)
       SELECT $2, "organizationId", id, runs, 1, 'PENDING', $3 FROM task
     )
     SELECT * FROM task`,
    [task.id, executionId, now],
  );
  await enqueueAttempts(boss, client, [{ executionId, organizationId: task.organizationId, queue: task.queue, runAt: now }]);
  return rows[0] as TaskRow;
}

/** The earliest slot without a run yet (epoch ms), or null when no cron task is active. Reads one index entry. */
export async function nextUnpreparedCronSlot(db: Queryable, excluding: readonly string[] = []): Promise<number | null> {
  return (await earliestUnpreparedCronTask(db, excluding))?.due.getTime() ?? null;
}

/** The cron task with the earliest slot without a run yet, leaving `excluding` out. Reads the index's first entries. */
export async function earliestUnpreparedCronTask(
  db: Queryable,
  excluding: readonly string[] = [],
): Promise<{ id: string; due: Date } | null> {
  const { rows } = await db.query<{ id: string; due: Date }>(
    `SELECT id, next_run_at AS due FROM tasks
     WHERE next_run_at IS NOT NULL AND type = 'CRON' AND NOT paused AND status <> 'CANCELLED' AND NOT (id = ANY($1::uuid[]))
     ORDER BY next_run_at LIMIT 1`,
    [excluding],
  );
  return rows[0] ?? null;
}

interface SlotExecution {
  id: string;
  organizationId: string;
  taskId: string;
  run: number;
  status: "PENDING" | "MISSED";
  slot: Date;
  error: string | null;
}

/**
 * Claims up to `limit` cron tasks whose next slot is due within the
 * look-ahead at `now`, and records their slots: runs become PENDING
 * executions handed to the dispatcher (due at their slot, or at once for a
 * slot already past), the others MISSED executions; `next_run_at` moves to the
 * first slot after both `now` and the slots recorded. One transaction.
 * Returns how many tasks were claimed.
 */
export async function prepareCronRuns(
  pool: Pool,
  boss: PgBoss,
  now = new Date(),
  limit = CRON_CLAIM_BATCH,
  /** Tasks to leave alone (set aside by the scheduler), or the one task to claim. */
  which: { excluding?: readonly string[]; only?: string } = {},
): Promise<number> {
  const horizon = new Date(now.getTime() + CRON_LOOK_AHEAD_MS);
  return withTransaction(pool, async (client) => {
    const { rows: tasks } = await client.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks
       WHERE next_run_at <= $1 AND type = 'CRON' AND NOT paused AND status <> 'CANCELLED'
         AND NOT (id = ANY($3::uuid[])) AND ($4::uuid IS NULL OR id = $4)
       ORDER BY next_run_at LIMIT $2
       FOR UPDATE SKIP LOCKED`,
      [horizon, limit, which.excluding ?? [], which.only ?? null],
    );
    if (tasks.length === 0) return 0;
    // The overlap policy of a slot already past is applied now; a slot to come is checked when it is dispatched.
    const inFlight = await runsInFlight(
      client,
      tasks.filter((task) => task.overlap === "SKIP_IF_RUNNING" && (task.nextRunAt as Date) <= now).map((task) => task.id),
    );

    const executions: SlotExecution[] = [];
    const moves: Array<{ id: string; slot: Date; next: Date | null; prepared: Date | null; recorded: number }> = [];
    // Many tasks share a schedule ("0 * * * *"): each distinct schedule and slot is evaluated once per claim.
    const plans = new Map<string, DueSlotPlan>();
    const planOnce: SlotPlanner = (schedule) => {
      const key = `${schedule.cron}\u0000${schedule.timezone}\u0000${schedule.nextRunAt.getTime()}\u0000${schedule.catchUp}`;
      const known = plans.get(key);
      if (known) return known;
      // A slot to come is planned as of its own time: it is on time, and the next one follows it.
      const plan = planDueSlots(schedule, schedule.nextRunAt > now ? schedule.nextRunAt : now);
      plans.set(key, plan);
      return plan;
    };
    for (const task of tasks) {
      const planned = planTaskSlots(task, planOnce, inFlight.get(task.id) ?? null);
      executions.push(...planned.executions);
      const ahead = planned.executions.find((execution) => execution.status === "PENDING" && execution.slot > now);
      moves.push({
        id: task.id,
        slot: task.nextRunAt as Date,
        next: planned.nextRunAt,
        prepared: ahead?.slot ?? null,
        recorded: planned.executions.length,
      });
    }

    const queues = new Map(tasks.map((task) => [task.id, task.queue]));
    // A run outside named queues gets its job now, due at its slot; a queued one waits for admission at its slot.
    const admittedNow = (execution: SlotExecution) => execution.status === "PENDING" && queues.get(execution.taskId) === null;
    await client.query(
      `INSERT INTO executions (id, organization_id, task_id, run, attempt, status, scheduled_for, cron_slot, admitted_at, error,
                               finished_at)
       SELECT id, organization_id, task_id, run, 1, status, slot, slot, CASE WHEN admitted THEN now() END, error,
              CASE WHEN status = 'MISSED' THEN now() END
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::execution_status[], $6::timestamptz[], $7::boolean[], $8::text[])
         AS e(id, organization_id, task_id, run, status, slot, admitted, error)`,
      [
        executions.map((e) => e.id),
        executions.map((e) => e.organizationId),
        executions.map((e) => e.taskId),
        executions.map((e) => e.run),
        executions.map((e) => e.status),
        executions.map((e) => e.slot),
        executions.map(admittedNow),
        executions.map((e) => e.error),
      ],
    );
    const { rowCount } = await client.query(CLAIMED_SLOTS_MOVE_SQL, [
      moves.map((m) => m.id),
      moves.map((m) => m.slot),
      moves.map((m) => m.next),
      moves.map((m) => m.prepared),
      moves.map((m) => m.recorded),
    ]);
    if (rowCount !== moves.length) throw new Error(`cron claim lost ${moves.length - (rowCount ?? 0)} slot(s) to a concurrent change`);

    const runs: AttemptToEnqueue[] = executions
      .filter((e) => e.status === "PENDING")
      .map((e) => ({
        executionId: e.id,
        organizationId: e.organizationId,
        queue: queues.get(e.taskId) ?? null,
        // A job due in the past would be past pg-boss's retention (start_after + 14 days) and dropped before it ran: due now.
        runAt: e.slot > now ? e.slot : now,
        admitted: admittedNow(e),
      }));
    await enqueueAttempts(boss, client, runs);
    return tasks.length;
  });
}

/**
 * Moves claimed tasks past the slots just recorded: $1 ids, $2 the claimed slots, $3 next slots, $4 prepared slots,
 * $5 runs recorded. Compare-and-set on the claimed slot: the row lock makes it hold, the condition makes it evident.
 * The slot is compared with IS NOT DISTINCT FROM (the same here: a claimed slot is never null) so that the planner
 * joins the rows by id: with `=`, the statistics of a table whose tasks mostly have no next run (one-off tasks) led
 * it to a merge join on the next_run_at index, matching each of the 1,000 ids against every task sharing the slot:
 * up to 1.8 s per claim with 10,000 tasks on one minute, and the last runs written after their slot. Exported for
 * its test (tests/cron/cron-tasks.claim-plan.test.ts).
 */
export const CLAIMED_SLOTS_MOVE_SQL = `UPDATE tasks t
  SET next_run_at = m.next, prepared_slot = m.prepared, runs = t.runs + m.recorded, updated_at = now()
  FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::int[]) AS m(id, slot, next, prepared, recorded)
  WHERE t.id = m.id AND t.next_run_at IS NOT DISTINCT FROM m.slot`;

/** The latest run still pending or running, per task (the overlap policy's "previous run"). */
async function runsInFlight(client: PoolClient, taskIds: string[]): Promise<Map<string, number>> {
  if (taskIds.length === 0) return new Map();
  const { rows } = await client.query<{ taskId: string; run: number }>(
    `SELECT task_id AS "taskId", max(run) AS run FROM executions
     WHERE task_id = ANY($1::uuid[]) AND status IN ('PENDING', 'RUNNING') GROUP BY task_id`,
    [taskIds],
  );
  return new Map(rows.map((row) => [row.taskId, row.run]));
}

type SlotPlanner = (schedule: Parameters<typeof planDueSlots>[0]) => DueSlotPlan;

/** The executions one claimed task's slots produce, numbered after its last run. */
function planTaskSlots(
  task: TaskRow,
  planSlots: SlotPlanner,
  runInFlight: number | null,
): { executions: SlotExecution[]; nextRunAt: Date | null } {
  const base = { organizationId: task.organizationId, taskId: task.id };
  let plan: DueSlotPlan;
  try {
    plan = planSlots({
      cron: task.cron as string,
      timezone: task.timezone ?? "UTC",
      nextRunAt: task.nextRunAt as Date,
      catchUp: task.catchUp as CatchUpPolicy,
    });
  } catch (error) {
    // Only a schedule edited outside the API can fail here; stop it and say why rather than retry forever.
    const reason = error instanceof Error ? error.message : String(error);
    const missed: SlotExecution = {
      ...base,
      id: uuidv7(),
      run: task.runs + 1,
      status: "MISSED",
      slot: task.nextRunAt as Date,
      error: `schedule stopped: it could not be evaluated (${reason}); update it to resume`,
    };
    return { executions: [missed], nextRunAt: null };
  }
  const overlap = task.overlap as OverlapPolicy;
  let busyRun = runInFlight;
  const executions = plan.slots.map((slot, index): SlotExecution => {
    const run = task.runs + index + 1;
    const execution = { ...base, id: uuidv7(), run, slot: slot.at };
    if (slot.outcome === "missed") return { ...execution, status: "MISSED", error: slot.reason ?? "missed" };
    if (overlap === "SKIP_IF_RUNNING" && busyRun !== null) return { ...execution, status: "MISSED", error: overlapSkipReason(busyRun) };
    busyRun = run;
    return { ...execution, status: "PENDING", error: null };
  });
  return { executions, nextRunAt: plan.nextRunAt };
}
