/**
 * Settles finished HTTP attempts in batches (group commit): an attempt that
 * finishes while batches are being written waits for the next one, which
 * takes everything that finished meanwhile. Nothing waits on a timer: at low
 * load a batch holds one attempt and is written at once; under load batches
 * grow with the time a write takes, and one transaction (a few statements)
 * settles up to MAX_SETTLE_BATCH attempts instead of one each. SETTLE_WRITERS
 * batches are written at once, so one slow commit does not stall the rest.
 *
 * A batch that fails is settled again one attempt at a time, so one bad
 * attempt cannot take the others down with it; an attempt that still fails
 * stays unsettled, and its job is retried once its heartbeat expires, like
 * the attempt of a worker that crashed.
 */
import type { PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import { type FinishedAttempt, recordAttemptOutcomes } from "../server/services/attempts.js";
import type { AttemptVerdict } from "../server/services/retry-policy.js";

/** Attempts one settle transaction takes at most. */
const MAX_SETTLE_BATCH = 200;
/** Batches written at once, each on its own connection. */
const SETTLE_WRITERS = 2;

interface Waiting {
  finished: FinishedAttempt;
  resolve: (verdict: AttemptVerdict) => void;
  reject: (error: unknown) => void;
}

export class AttemptSettler {
  private waiting: Waiting[] = [];
  private writers = 0;

  constructor(
    private readonly pool: Pool,
    private readonly boss: PgBoss,
  ) {}

  /** Resolves with the attempt's verdict once its outcome is committed. */
  settle(finished: FinishedAttempt): Promise<AttemptVerdict> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ finished, resolve, reject });
      if (this.writers < SETTLE_WRITERS) {
        this.writers += 1;
        void this.writeBatches();
      }
    });
  }

  private async writeBatches(): Promise<void> {
    // Attempts finishing in the same turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_SETTLE_BATCH);
      try {
        const verdicts = await recordAttemptOutcomes(
          this.pool,
          this.boss,
          batch.map((entry) => entry.finished),
        );
        for (const [index, entry] of batch.entries()) entry.resolve(verdicts[index] as AttemptVerdict);
      } catch {
        for (const entry of batch) {
          await recordAttemptOutcomes(this.pool, this.boss, [entry.finished]).then(
            ([verdict]) => entry.resolve(verdict as AttemptVerdict),
            entry.reject,
          );
        }
      }
    }
    this.writers -= 1;
  }
}
