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
 *    not cancelled, stays whatever its age.
 * Deleting a task deletes what hangs off it (its inbound deliveries). Attempts are found through the
 * (organization_id, finished_at) index, organisation by organisation, so a sweep reads what it deletes and little
 * else; rows another transaction holds are skipped (SKIP LOCKED) and taken by the next sweep. Safe to run from any
 * number of workers at once.
 */
import { type Pool, withTransaction } from "../db/pool.js";

/** Attempts deleted per statement: short transactions, and no long lock on anything a worker needs. */
export const HISTORY_PURGE_BATCH = 1000;

export interface PurgedHistory {
  executions: number;
  tasks: number;
}

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

/**
 * Deletes the history older than `retentionDays` days before `now` (see the header). Returns what it deleted.
 * `retentionDays` 0 keeps everything.
 */
export async function purgeExpiredHistory(pool: Pool, retentionDays: number, now = new Date()): Promise<PurgedHistory> {
  const purged: PurgedHistory = { executions: 0, tasks: 0 };
  if (retentionDays <= 0) return purged;
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 3_600_000);
  const { rows: organizations } = await pool.query<{ id: string }>("SELECT id FROM organizations ORDER BY id");
  for (const { id: organizationId } of organizations) {
    for (;;) {
      const deleted = await withTransaction(pool, async (client) => {
        const attempts = await client.query<{ taskId: string }>(PURGE_ATTEMPTS_SQL, [organizationId, cutoff]);
        const taskIds = [...new Set(attempts.rows.map((row) => row.taskId))];
        const tasks = taskIds.length ? await client.query(PURGE_FINISHED_TASKS_SQL, [organizationId, taskIds]) : { rowCount: 0 };
        return { executions: attempts.rowCount ?? 0, tasks: tasks.rowCount ?? 0 };
      });
      purged.executions += deleted.executions;
      purged.tasks += deleted.tasks;
      if (deleted.executions < HISTORY_PURGE_BATCH) break;
    }
  }
  return purged;
}
