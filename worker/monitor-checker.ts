/**
 * The monitor checker: turns missed heartbeats into DOWN states (and their
 * alerts) as their deadlines pass.
 *
 * Every monitor keeps its next deadline in `alert_after`; the checker only
 * asks the partial index for the earliest one and sleeps until then, looking
 * again at least every POLL_MS (a ping handled by another process may have
 * moved a deadline earlier), so a monitor goes DOWN within about a second of
 * its deadline. Any number of checkers can run: claims skip locked rows and
 * the status moves under the row lock, so each change is recorded once.
 */
import type { PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { checkDueMonitors, MONITOR_CLAIM_BATCH, nextMonitorDeadline } from "../server/services/monitors.js";
import { PollingLoop } from "./polling-loop.js";

const POLL_MS = 1000;
const ERROR_BACKOFF_MS = 1000;

export interface MonitorCheckerOptions {
  pool: Pool;
  boss: PgBoss;
  logger: Logger;
}

export class MonitorChecker extends PollingLoop {
  constructor(private readonly options: MonitorCheckerOptions) {
    super();
  }

  protected async pass(): Promise<number> {
    const { pool, boss, logger } = this.options;
    try {
      const { claimed, wentDown } = await checkDueMonitors(boss, pool);
      if (wentDown > 0) logger.info({ wentDown }, "monitor checker: monitors went DOWN");
      if (claimed === MONITOR_CLAIM_BATCH) return 0;
      const deadline = await nextMonitorDeadline(pool);
      return deadline === null ? POLL_MS : Math.min(POLL_MS, Math.max(10, deadline.getTime() - Date.now() + 5));
    } catch (error) {
      logger.error({ err: error }, "monitor checker: checking due monitors failed; retrying");
      return ERROR_BACKOFF_MS;
    }
  }
}
