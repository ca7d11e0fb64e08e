/**
 * The cron scheduler: turns due cron slots into ordinary attempts (see
 * server/services/cron-tasks.ts for how a slot is claimed and recorded).
 *
 * It never evaluates schedules that are not due: each task keeps its next
 * slot in `next_run_at`, and the scheduler only asks the index for the
 * earliest one. It sleeps until then on a timer, looking again every
 * POLL_MS (a task pushed, resumed or rescheduled elsewhere, by any server,
 * may bring the earliest slot forward), so a slot fires within POLL_MS of its
 * time at worst and usually within a few milliseconds. Any number of
 * schedulers can run: claims are exclusive (SKIP LOCKED), so each slot fires
 * once.
 */
import type { PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { CRON_CLAIM_BATCH, fireDueCronSlots, nextCronSlotDue } from "../server/services/cron-tasks.js";
import { PollingLoop } from "./polling-loop.js";

/** How often the earliest slot is read again while sleeping. Bounds the lateness of a slot made due by another process. */
const POLL_MS = 500;
/** Floor of a sleep, so a slot locked by another scheduler's claim is not polled in a tight loop. */
const LOCKED_RETRY_MS = 10;
/** After a failed claim (database unreachable), wait this long before trying again. */
const ERROR_BACKOFF_MS = 1000;

export interface CronSchedulerOptions {
  pool: Pool;
  boss: PgBoss;
  logger: Logger;
}

export class CronScheduler extends PollingLoop {
  /** When the earliest slot is due (epoch ms); 0 claims at once, on start-up. */
  private due: number | null = 0;

  constructor(private readonly options: CronSchedulerOptions) {
    super();
  }

  protected async pass(): Promise<number> {
    const { pool, boss, logger } = this.options;
    try {
      if (this.due !== null && this.due <= Date.now()) {
        const claimed = await fireDueCronSlots(pool, boss, new Date());
        // A full batch: more may be due right now.
        if (claimed === CRON_CLAIM_BATCH) return 0;
      }
      this.due = await nextCronSlotDue(pool);
      // A slot still due after a claim is being claimed by another scheduler: look again shortly.
      return this.due === null ? POLL_MS : Math.min(POLL_MS, Math.max(LOCKED_RETRY_MS, this.due - Date.now()));
    } catch (error) {
      logger.error({ err: error }, "cron scheduler: claiming due slots failed; retrying");
      this.due = 0;
      return ERROR_BACKOFF_MS;
    }
  }
}
