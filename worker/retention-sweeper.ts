/**
 * The retention sweeper: every few minutes, deletes what is past its retention — inbound webhook events older than
 * their organisation's `inboundRetentionDays`, attempts and finished tasks older than RUNLATER_HISTORY_RETENTION_DAYS
 * (server/services/history-retention.ts), expired sessions and login and sign-up attempts older than a day. Every worker runs
 * one; any number can run at once.
 */
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { purgeExpiredHistory } from "../server/services/history-retention.js";
import { purgeExpiredInboundEvents } from "../server/services/inbound-events.js";
import { deleteOldAccountAttempts } from "../server/services/login-throttle.js";
import { deleteExpiredSessions } from "../server/services/sessions.js";
import { PollingLoop } from "./polling-loop.js";

/** How often the sweep runs; a failed sweep is tried again after the same pause. */
export const RETENTION_SWEEP_MS = 10 * 60_000;

export interface RetentionSweeperOptions {
  pool: Pool;
  logger: Logger;
  /** Days attempts and finished tasks are kept; 0 keeps them. */
  historyRetentionDays: number;
}

export class RetentionSweeper extends PollingLoop {
  /** Stops a sweep between two batches: a long first sweep after an upgrade must not hold up a shutdown. */
  private readonly shutdown = new AbortController();

  constructor(private readonly options: RetentionSweeperOptions) {
    super();
  }

  override async stop(): Promise<void> {
    this.shutdown.abort();
    await super.stop();
  }

  protected async pass(): Promise<number> {
    const { pool, logger, historyRetentionDays } = this.options;
    try {
      const inboundEvents = await purgeExpiredInboundEvents(pool);
      if (inboundEvents > 0) logger.info({ deleted: inboundEvents }, "deleted inbound events past their retention");
      await Promise.all([deleteExpiredSessions(pool), deleteOldAccountAttempts(pool)]);
      const history = await purgeExpiredHistory(pool, historyRetentionDays, { signal: this.shutdown.signal });
      if (history.executions > 0) {
        logger.info(
          { executions: history.executions, tasks: history.tasks, retentionDays: historyRetentionDays },
          "deleted history past its retention",
        );
      }
    } catch (error) {
      logger.error({ err: error }, "retention sweep failed; trying again at the next sweep");
    }
    return RETENTION_SWEEP_MS;
  }
}
