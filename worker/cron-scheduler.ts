/**
 * The cron scheduler: creates each cron slot's run shortly before the slot
 * (see server/services/cron-tasks.ts for how a slot is claimed and recorded),
 * so that at the slot itself the run is already an ordinary due attempt.
 *
 * Why ahead of time. With 10,000 tasks on one slot, creating the runs at the
 * slot (claims of 1,000 tasks, each distinct schedule evaluated once per
 * claim) took 150–270 ms per claim while the dispatcher was busy with the
 * previous slot: the last run was written 2.25 s late (p50 1.1 s), and only
 * then admitted. Doing the same work in set-based SQL at the slot would still
 * write 10,000 executions and 10,000 jobs after the slot, competing with
 * dispatch for the same two cores. Created CRON_LOOK_AHEAD_MS ahead, a run
 * and its pg-boss job exist before the slot, due at the slot: the job is
 * fetchable the instant the slot comes, whatever the number of tasks, and
 * NOTIFY arms every dispatcher's timer for it. The cost is the bookkeeping of
 * a run that exists before its slot (withdrawn on pause, reschedule and
 * cancel; the overlap policy decided when the attempt is claimed).
 *
 * It never evaluates schedules that are not due: each task keeps its next
 * slot without a run in `next_run_at`, and the scheduler only asks the index
 * for the earliest one. It sleeps until the look-ahead reaches it, looking
 * again every POLL_MS (a task pushed, resumed or rescheduled elsewhere, by any
 * server, may bring the earliest slot forward). Any number of schedulers can
 * run: claims are exclusive (SKIP LOCKED), so each slot fires once.
 */
import type { PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import {
  CRON_CLAIM_BATCH,
  CRON_LOOK_AHEAD_MS,
  earliestUnpreparedCronTask,
  nextUnpreparedCronSlot,
  prepareCronRuns,
} from "../server/services/cron-tasks.js";
import { PollingLoop } from "./polling-loop.js";

/**
 * How often the earliest slot is read again while sleeping. A slot brought
 * within the look-ahead by another process (a push, a resume) is prepared
 * within this long, so it is late only when it was less than POLL_MS away.
 */
const POLL_MS = 500;
/** Floor of a sleep, so a slot locked by another scheduler's claim is not polled in a tight loop. */
const LOCKED_RETRY_MS = 10;
/** After a failed claim (database unreachable), wait this long before trying again. */
const ERROR_BACKOFF_MS = 1000;
/** How long a task whose run cannot be written is left out of the claims before it is tried again. */
const SET_ASIDE_MS = 60_000;

/**
 * A failure of the data, not of the database: a constraint or a value (SQLSTATE classes 22 and 23). Only such a
 * failure is one task's own; a lost connection fails every task alike.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

export interface CronSchedulerOptions {
  pool: Pool;
  boss: PgBoss;
  logger: Logger;
}

export class CronScheduler extends PollingLoop {
  /** When the earliest slot without a run comes within the look-ahead (epoch ms); 0 claims at once, on start-up. */
  private due: number | null = 0;
  /**
   * Tasks whose run could not be written, and until when they are left out (epoch ms). A claim is one transaction for
   * up to CRON_CLAIM_BATCH tasks: without this, one such task failed every claim, every second, and no cron task of
   * the installation fired any more.
   */
  private readonly setAside = new Map<string, number>();

  constructor(private readonly options: CronSchedulerOptions) {
    super();
  }

  protected async pass(): Promise<number> {
    const { pool, boss, logger } = this.options;
    try {
      for (const [taskId, until] of this.setAside) if (until <= Date.now()) this.setAside.delete(taskId);
      const excluding = [...this.setAside.keys()];
      if (this.due !== null && this.due <= Date.now()) {
        const claimed = await prepareCronRuns(pool, boss, new Date(), CRON_CLAIM_BATCH, { excluding }).catch(async (error: unknown) => {
          if (!isDataError(error)) throw error;
          logger.error({ err: error }, "cron scheduler: a claim failed on a task's data; claiming due tasks one by one");
          return this.prepareOneByOne(excluding);
        });
        // A full batch: more may be due right now.
        if (claimed === CRON_CLAIM_BATCH) return 0;
      }
      const slot = await nextUnpreparedCronSlot(pool, [...this.setAside.keys()]);
      this.due = slot === null ? null : slot - CRON_LOOK_AHEAD_MS;
      // A slot still due after a claim is being claimed by another scheduler: look again shortly.
      return this.due === null ? POLL_MS : Math.min(POLL_MS, Math.max(LOCKED_RETRY_MS, this.due - Date.now()));
    } catch (error) {
      logger.error({ err: error }, "cron scheduler: claiming due slots failed; retrying");
      this.due = 0;
      return ERROR_BACKOFF_MS;
    }
  }

  /**
   * After a batch failed on some task's data: claims the due tasks one at a time, in slot order, setting aside for
   * SET_ASIDE_MS each one whose own claim fails the same way, so that the others fire. Returns how many it claimed.
   */
  private async prepareOneByOne(excluding: readonly string[]): Promise<number> {
    const { pool, boss, logger } = this.options;
    const skipped = [...excluding];
    let claimed = 0;
    for (let tried = 0; tried < CRON_CLAIM_BATCH; tried++) {
      const now = new Date();
      const next = await earliestUnpreparedCronTask(pool, skipped);
      if (!next || next.due.getTime() > now.getTime() + CRON_LOOK_AHEAD_MS) break;
      try {
        claimed += await prepareCronRuns(pool, boss, now, 1, { only: next.id });
      } catch (error) {
        if (!isDataError(error)) throw error;
        this.setAside.set(next.id, Date.now() + SET_ASIDE_MS);
        logger.error({ err: error, taskId: next.id }, "cron scheduler: this task's run cannot be written; set aside for a minute");
      }
      // Claimed, set aside, or locked by another scheduler meanwhile: either way, on to the next.
      skipped.push(next.id);
    }
    return claimed;
  }
}
