/**
 * History retention: finished attempts, and finished tasks with them, are deleted once they are older than the
 * installation's retention (RUNLATER_HISTORY_RETENTION_DAYS), so that tasks and executions hold what is still to
 * run plus a bounded history, however long Runlater has been running. pg-boss prunes its own finished jobs.
 *
 * What goes, in batches of HISTORY_PURGE_BATCH per organisation, oldest first:
 *  - every attempt that finished (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, MISSED) before the cutoff, whatever its
 *    task: a recurring task keeps its recent runs only;
 *  - then a task that is over (a one-off or callback task SUCCEEDED, FAILED or CANCELLED; a recurring task
 *    CANCELLED) once none of its attempts is left. A task still scheduled or running, and a recurring task that is
 *    not cancelled, stays whatever its age;
 *  - and a recurring task cancelled before the cutoff with no attempt at all (paused past the retention, then
 *    cancelled: its runs went while it was paused).
 * Deleting a task deletes what hangs off it (its inbound deliveries). Only organisations with something to delete
 * are visited (one statement finds them), and their attempts are read through the (organization_id, finished_at)
 * index, so a sweep costs about what it deletes. One worker sweeps an organisation at a time (a transaction-scoped
 * advisory lock; another worker passes it by): two sweeps deleting a task's last attempts side by side would each
 * see the other's and leave the task behind.
 */
import { type Pool, withTransaction } from "../db/pool.js";

/** Attempts deleted per statement: short transactions, and no long lock on anything a worker needs. */
export const HISTORY_PURGE_BATCH = 1000;

export interface PurgedHistory {
  executions: number;
  tasks: number;
}

/** Organisations with an attempt finished before $1, or a cancelled recurring task over since before $1. */
const ORGANIZATIONS_WITH_EXPIRED_HISTORY_SQL = `SELECT o.id FROM organizations o
     WHERE EXISTS (SELECT 1 FROM executions e WHERE e.organization_id = o.id AND e.finished_at IS NOT NULL AND e.finished_at < $1)
        OR EXISTS (SELECT 1 FROM tasks t
                   WHERE t.organization_id = o.id AND t.status = 'CANCELLED' AND t.type = 'CRON' AND t.completed_at < $1
                     AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.task_id = t.id))
     ORDER BY o.id`;

/** The oldest finished attempts of an organisation before a cutoff ($1, $2), deleted; exported for its plan test. */
export const PURGE_ATTEMPTS_SQL = `WITH old AS (
       SELECT id FROM executions
       WHERE organization_id = $1 AND finished_at IS NOT NULL AND finished_at < $2
       ORDER BY finished_at LIMIT ${HISTORY_PURGE_BATCH}
       FOR UPDATE SKIP LOCKED
     )
     DELETE FROM executions e USING old WHERE e.id = old.id
     RETURNING e.task_id AS "taskId"`;

/** Tasks among $2 (of organisation $1) that are over and have no attempt left, deleted. */
export const PURGE_FINISHED_TASKS_SQL = `DELETE FROM tasks t
     WHERE t.organization_id = $1 AND t.id = ANY($2::uuid[])
       AND (t.status = 'CANCELLED' OR (t.type <> 'CRON' AND t.status IN ('SUCCEEDED', 'FAILED')))
       AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.task_id = t.id)`;

/** Recurring tasks of organisation $1 cancelled before $2 that have no attempt at all, deleted. */
const PURGE_CANCELLED_SCHEDULES_SQL = `DELETE FROM tasks t
     WHERE t.organization_id = $1 AND t.status = 'CANCELLED' AND t.type = 'CRON' AND t.completed_at < $2
       AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.task_id = t.id)`;

/**
 * Deletes the history older than `retentionDays` days before `now` (see the header). Returns what it deleted.
 * `retentionDays` 0 keeps everything. `signal` stops it between two batches (a worker shutting down).
 */
export async function purgeExpiredHistory(
  pool: Pool,
  retentionDays: number,
  options: { now?: Date; signal?: AbortSignal } = {},
): Promise<PurgedHistory> {
  const purged: PurgedHistory = { executions: 0, tasks: 0 };
  if (retentionDays <= 0) return purged;
  const cutoff = new Date((options.now ?? new Date()).getTime() - retentionDays * 24 * 3_600_000);
  const { rows: organizations } = await pool.query<{ id: string }>(ORGANIZATIONS_WITH_EXPIRED_HISTORY_SQL, [cutoff]);
  for (const { id: organizationId } of organizations) {
    for (let first = true; !options.signal?.aborted; first = false) {
      const deleted = await withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ locked: boolean }>(
          "SELECT pg_try_advisory_xact_lock(hashtext('runlater:history-retention:' || $1)) AS locked",
          [organizationId],
        );
        if (!rows[0]?.locked) return null;
        const attempts = await client.query<{ taskId: string }>(PURGE_ATTEMPTS_SQL, [organizationId, cutoff]);
        const taskIds = [...new Set(attempts.rows.map((row) => row.taskId))];
        const tasks = taskIds.length ? await client.query(PURGE_FINISHED_TASKS_SQL, [organizationId, taskIds]) : { rowCount: 0 };
        const schedules = first ? await client.query(PURGE_CANCELLED_SCHEDULES_SQL, [organizationId, cutoff]) : { rowCount: 0 };
        return { executions: attempts.rowCount ?? 0, tasks: (tasks.rowCount ?? 0) + (schedules.rowCount ?? 0) };
      });
      // Another worker is sweeping this organisation.
      if (deleted === null) break;
      purged.executions += deleted.executions;
      purged.tasks += deleted.tasks;
      if (deleted.executions < HISTORY_PURGE_BATCH) break;
    }
  }
  return purged;
}
