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

export class CronScheduler {
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeSleeper: (() => void) | null = null;

  constructor(private readonly options: CronSchedulerOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops claiming; a claim in progress commits or rolls back first. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleeper?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { pool, boss, logger } = this.options;
    // When the earliest slot is due (epoch ms); 0 claims at once, on start-up.
    let due: number | null = 0;
    while (!this.stopping) {
      let sleepMs: number;
      try {
        if (due !== null && due <= Date.now()) {
          const claimed = await fireDueCronSlots(pool, boss, new Date());
          // A full batch: more may be due right now.
          if (claimed === CRON_CLAIM_BATCH) continue;
        }
        due = await nextCronSlotDue(pool);
        // A slot still due after a claim is being claimed by another scheduler: look again shortly.
        sleepMs = due === null ? POLL_MS : Math.min(POLL_MS, Math.max(LOCKED_RETRY_MS, due - Date.now()));
      } catch (error) {
        logger.error({ err: error }, "cron scheduler: claiming due slots failed; retrying");
        due = 0;
        sleepMs = ERROR_BACKOFF_MS;
      }
      await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleeper = null;
        resolve();
      }, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve();
      };
    });
  }
}
