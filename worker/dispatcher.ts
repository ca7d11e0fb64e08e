/**
 * The dispatcher: takes due attempts in batches (admits, fetches from pg-boss
 * and claims them in one transaction: takeDueAttempts), and runs up to
 * `concurrency` HTTP attempts at once. Each attempt is settled as soon as it
 * finishes (a slow endpoint never holds back the others), together with the
 * attempts that finish at the same time (attempt-settler.ts). Round trips to
 * PostgreSQL, not CPU, bound throughput, hence the batches: a taken batch
 * costs one transaction, and a settled batch one more, whatever their size.
 * The stages overlap: the next batches are fetched and claimed while requests
 * run, and a finished request gives its HTTP place to the next attempt while it
 * waits for its settle batch, so a slow round trip to the database never leaves
 * places idle.
 * See server/services/attempts.ts for the state machine of an attempt.
 */
import { setMaxListeners } from "node:events";

import type { Job, PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { type ClaimedAttempt, type ClaimResult, takeDueAttempts } from "../server/services/attempts.js";
import { DISPATCH_QUEUE, type DispatchJobData } from "../server/services/dispatch-queue.js";
import { admitWaitingQueues } from "../server/services/queues.js";
import type { AttemptVerdict } from "../server/services/retry-policy.js";
import { signatureHeader } from "../server/services/signature.js";
import { AttemptSettler } from "./attempt-settler.js";
import { ChurnVacuum } from "./churn-vacuum.js";
import { DispatchWakeups } from "./dispatch-wakeups.js";
import { createHttpDeliverer, type DeliveryOutcome, type DeliveryRequest } from "./http-delivery.js";

const MAX_FETCH_BATCH = 100;
/** With attempts in flight, the dispatcher fetches again once this share of its concurrency is free… */
const REFILL_SHARE = 0.25;
/** …or this long after its last fetch. */
const REFILL_WAIT_MS = 20;
/**
 * While takes come back full (admitting the oldest due attempts of any organisation), one take at least this often
 * tops every organisation up instead: an organisation whose limit is above what the worker runs at once fills every
 * take with its backlog, and another's new task would otherwise wait until the older part of that backlog had run.
 */
const FAIR_TOP_UP_INTERVAL_MS = 250;
/** How long the dispatcher stops taking attempts after a take failed (and rolled back). */
const TAKE_FAILURE_PAUSE_MS = 1000;
/** Organisations' concurrency limits change rarely; they are re-read this often. */
const ORGANIZATION_LIMITS_REFRESH_MS = 10_000;
/** The limit of organisations whose row has not been read yet, and the schema default. */
export const DEFAULT_ORGANIZATION_CONCURRENCY = 5;
export const USER_AGENT = "Runlater/0.1 (+https://github.com/runlater/runlater)";

export interface DispatcherOptions {
  pool: Pool;
  boss: PgBoss;
  logger: Logger;
  databaseUrl: string;
  concurrency: number;
  heartbeatSeconds: number;
  allowPrivateTargets: boolean;
  shutdownGraceMs: number;
  /** Most connections open to one target origin at once (RUNLATER_CONNECTIONS_PER_HOST). */
  connectionsPerHost?: number;
  /** Attempts settled before the dispatcher, once caught up, vacuums the tables they churned (churn-vacuum.ts); 0 never. */
  vacuumAfterSettled: number;
}

export class Dispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly wakeups: DispatchWakeups;
  private readonly settler: AttemptSettler;
  private readonly churnVacuum: ChurnVacuum;
  private readonly deliverer;
  private readonly shutdown = new AbortController();
  private loop: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping = false;
  private organizationLimits: { tiers: Record<string, number>; readAt: number } = { tiers: {}, readAt: 0 };
  private readonly refillBatch: number;
  private lastFetchAt = 0;
  /** Whether the last take fetched all it asked for (see the admission limit in fetchLoop). */
  private lastTakeWasFull = true;
  /** When a take last topped every organisation up (see FAIR_TOP_UP_INTERVAL_MS). */
  private lastTopUpAt = 0;
  /** After a take failed to commit, the loop waits until then. */
  private pauseTakingUntil = 0;
  /**
   * Set while the loop waits after a short take with nothing due left to fetch: an attempt leaving a stage then frees
   * room nothing is waiting for, and a take would find nothing (measured: 1.3 empty takes per task at 100 tasks/s, six
   * round trips each). New work wakes the loop by NOTIFY or timer instead.
   */
  private caughtUp = false;
  // Every attempt in `inFlight` is in one of three stages, each holding at most `concurrency` attempts:
  /** Fetched, and being claimed or waiting for an HTTP place. */
  private starting = 0;
  /** Sending its HTTP request (the places); `placeWaiters` wait for one to be handed over. */
  private delivering = 0;
  private readonly placeWaiters: Array<() => void> = [];
  /** Its request has finished; its outcome is not committed yet. */
  private settling = 0;

  constructor(private readonly options: DispatcherOptions) {
    this.wakeups = new DispatchWakeups(options.databaseUrl, options.logger);
    this.settler = new AttemptSettler(options.pool, options.boss);
    this.churnVacuum = new ChurnVacuum({ pool: options.pool, logger: options.logger, afterSettled: options.vacuumAfterSettled });
    this.refillBatch = Math.max(1, Math.min(MAX_FETCH_BATCH, Math.floor(options.concurrency * REFILL_SHARE)));
    this.deliverer = createHttpDeliverer({
      allowPrivateTargets: options.allowPrivateTargets,
      userAgent: USER_AGENT,
      connections: options.connectionsPerHost,
    });
    // Every attempt in flight listens for shutdown on this one signal.
    setMaxListeners(options.concurrency + 10, this.shutdown.signal);
  }

  async start(): Promise<void> {
    await this.wakeups.start();
    this.loop = this.fetchLoop();
    // Active jobs must be touched within heartbeatSeconds, or pg-boss treats their worker as dead.
    this.heartbeat = setInterval(() => void this.touchInFlight(), (this.options.heartbeatSeconds * 1000) / 3);
  }

  /** Stops fetching, lets in-flight attempts finish for up to shutdownGraceMs, then aborts them. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.wakeups.stop();
    await this.loop;
    const grace = setTimeout(() => this.shutdown.abort(), this.options.shutdownGraceMs);
    await Promise.allSettled(this.inFlight.values());
    clearTimeout(grace);
    await this.churnVacuum.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.deliverer.close();
  }

  private async fetchLoop(): Promise<void> {
    while (!this.stopping) {
      // A pipeline: the next batches are fetched and claimed while requests run, and finished requests wait for their
      // settle batch without holding an HTTP place. Each stage holds up to `concurrency` attempts; when settling falls
      // that far behind, the database is the bottleneck and fetching more would only lengthen its queue.
      const free = this.settling >= this.options.concurrency ? 0 : this.options.concurrency - this.starting;
      this.caughtUp = false;
      if (free <= 0 || Date.now() < this.pauseTakingUntil) {
        await this.wakeups.waitForWork();
        continue;
      }
      // While attempts are in flight, wait a moment for a worthwhile batch to have room: refilling one free place at
      // a time would cost a fetch and a claim per attempt. Never longer than REFILL_WAIT_MS, so slow attempts filling
      // most places do not hold back due ones.
      const refillAt = this.lastFetchAt + REFILL_WAIT_MS;
      if (this.inFlight.size > 0 && free < this.refillBatch && Date.now() < refillAt) {
        this.wakeups.wakeAt(refillAt);
        await this.wakeups.waitForWork();
        continue;
      }
      this.lastFetchAt = Date.now();
      const requested = Math.min(free, MAX_FETCH_BATCH);
      const topUp = !this.lastTakeWasFull || this.lastFetchAt - this.lastTopUpAt >= FAIR_TOP_UP_INTERVAL_MS;
      if (topUp) this.lastTopUpAt = this.lastFetchAt;
      // Named queues admit beside the take, not before it: in a backlog they almost never find anything, and waiting
      // for them would add a round trip to every batch. A pass that admits attempts makes the loop fetch again at once.
      // Due attempts outside queues are admitted by the take itself, in its transaction.
      const [admission, taken] = await Promise.allSettled([
        this.admitQueuedAttempts(),
        this.organizationTiers().then((tiers) => {
          const { jobs, claims, nextDue } = takeDueAttempts(this.options.pool, this.options.boss, {
            batchSize: requested,
            // While takes come back full, admit only what a take fetches, oldest due first: pg-boss's fetch reads every
            // due job it holds (20–43 ms per fetch with 100,000 due jobs, 1 ms with a few hundred), so a backlog waits
            // as rows, not jobs. After a short take (nothing more due, or organisations at their limits), and every
            // FAIR_TOP_UP_INTERVAL_MS of full ones, top every organisation up to its limit (at most a batch), so that
            // the fetch can pass over an organisation at its limit to another's attempts, while the one at its limit
            // keeps no more jobs waiting than it may run.
            admission: { kind: topUp ? "top-up" : "oldest", limit: requested },
            // Per-organisation fairness: no organisation has more attempts in flight (across all
            // workers) than its limit, so one organisation's backlog never delays another's tasks.
            groupConcurrency: { default: DEFAULT_ORGANIZATION_CONCURRENCY, tiers },
          });
          return jobs.then((fetched) => ({ jobs: fetched, claims, nextDue }));
        }),
      ]);
      if (admission.status === "rejected") this.options.logger.error({ err: admission.reason }, "admitting waiting attempts failed");
      if (taken.status === "rejected") this.options.logger.error({ err: taken.reason }, "fetching due attempts failed");
      const jobs = taken.status === "fulfilled" ? taken.value.jobs : [];
      this.lastTakeWasFull = jobs.length === requested;
      const admitted = admission.status === "fulfilled" ? admission.value : 0;
      // The batch is claimed (in the take's transaction) while the loop fetches the next one.
      const claims =
        taken.status === "fulfilled"
          ? taken.value.claims.catch((error) => {
              // Rolled back: the jobs are due again at once. Pause taking for a moment rather than fail in a loop.
              this.options.logger.error({ err: error, jobs: jobs.length }, "claiming fetched attempts failed");
              this.pauseTakingUntil = Date.now() + TAKE_FAILURE_PAUSE_MS;
              this.wakeups.wakeAt(this.pauseTakingUntil);
              return new Map<string, ClaimResult>();
            })
          : Promise.resolve(new Map<string, ClaimResult>());
      for (const job of jobs) this.track(job, claims);
      if (jobs.length < requested && admitted === 0) {
        // Nothing more to take for now (caught up, or organisations at their limits): a moment to clean up after a drain.
        this.churnVacuum.whenIdle();
        // A short take read the next attempt due; a failed one (logged above) leaves it unknown.
        const nextDue = taken.status === "fulfilled" ? await taken.value.nextDue.catch(() => undefined) : undefined;
        const next = nextDue === undefined ? "unknown" : this.wakeups.armForNextDue(nextDue);
        // An attempt due but not fetched waits for its organisation's slot: a finishing attempt may free it.
        this.caughtUp = next === "later";
        if (this.caughtUp) this.wakeups.forgetRoom();
        await this.wakeups.waitForWork();
      }
    }
  }

  /** Gives pg-boss jobs to the attempts that queues with free slots may start now (see queues.ts). */
  private async admitQueuedAttempts(): Promise<number> {
    // An organisation's queues keep no more jobs waiting than this worker's largest take fetches.
    const largestTake = Math.min(this.options.concurrency, MAX_FETCH_BATCH);
    const { admitted, retryAt } = await admitWaitingQueues(this.options.pool, this.options.boss, largestTake);
    // A rate-limited queue may admit again once its window moves on.
    if (retryAt) this.wakeups.wakeAt(retryAt.getTime());
    return admitted;
  }

  /** Jobs carry their organisation id as group tier; organisations with a non-default limit get a tier. */
  private async organizationTiers(): Promise<Record<string, number>> {
    if (Date.now() - this.organizationLimits.readAt > ORGANIZATION_LIMITS_REFRESH_MS) {
      const { rows } = await this.options.pool.query<{ id: string; limit: number }>(
        `SELECT id, concurrency_limit AS "limit" FROM organizations WHERE concurrency_limit <> $1`,
        [DEFAULT_ORGANIZATION_CONCURRENCY],
      );
      this.organizationLimits = { tiers: Object.fromEntries(rows.map((row) => [row.id, row.limit])), readAt: Date.now() };
    }
    return this.organizationLimits.tiers;
  }

  private track(job: Job<DispatchJobData>, claims: Promise<Map<string, ClaimResult>>): void {
    this.starting += 1;
    const run = this.runAttempt(job, claims)
      .catch((error) => this.options.logger.error({ err: error, jobId: job.id }, "attempt failed unexpectedly; its job will be retried"))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.roomFreed();
      });
    this.inFlight.set(job.id, run);
  }

  private async runAttempt(job: Job<DispatchJobData>, claims: Promise<Map<string, ClaimResult>>): Promise<void> {
    const { logger } = this.options;
    let claim: ClaimResult | undefined;
    try {
      claim = (await claims).get(job.id);
      if (claim?.kind === "claimed") await this.takeHttpPlace();
    } finally {
      this.starting -= 1;
      this.roomFreed();
    }
    if (!claim) return;
    if (claim.kind === "lost") {
      logger.warn({ executionId: job.data.executionId, verdict: claim.verdict.kind }, "recovered an attempt lost by a stopped worker");
      return;
    }
    if (claim.kind === "deferred") {
      this.wakeups.wakeAt(claim.until.getTime());
      return;
    }
    if (claim.kind !== "claimed") return;
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.deliverer.deliver(buildDeliveryRequest(claim.attempt), this.shutdown.signal);
    } finally {
      this.releaseHttpPlace();
    }
    this.settling += 1;
    this.roomFreed();
    let verdict: AttemptVerdict;
    try {
      verdict = await this.settler.settle({ claimed: { ...claim.attempt, jobId: job.id }, outcome });
    } finally {
      this.settling -= 1;
    }
    this.churnVacuum.recordSettled(1);
    logger.debug(
      { taskId: claim.attempt.task.id, attempt: claim.attempt.attempt, outcome: outcome.kind, verdict: verdict.kind },
      "attempt settled",
    );
  }

  /** An attempt left a stage: the loop may take again, unless it is caught up (see `caughtUp`). */
  private roomFreed(): void {
    if (!this.caughtUp) this.wakeups.wakeForRoom();
  }

  /** Resolves once the attempt may send its request: at most `concurrency` requests run at once. */
  private async takeHttpPlace(): Promise<void> {
    if (this.delivering < this.options.concurrency) {
      this.delivering += 1;
      return;
    }
    await new Promise<void>((resolve) => this.placeWaiters.push(resolve));
  }

  private releaseHttpPlace(): void {
    const next = this.placeWaiters.shift();
    // The place passes straight to the next waiting attempt.
    if (next) next();
    else this.delivering -= 1;
  }

  private async touchInFlight(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    await this.options.boss.touch(DISPATCH_QUEUE, ids).catch((error) => this.options.logger.error({ err: error }, "job heartbeat failed"));
  }
}

/** The exact request an attempt sends: the task's own headers plus Runlater's metadata and signature. */
export function buildDeliveryRequest(claimed: ClaimedAttempt, now = new Date()): DeliveryRequest {
  const { task } = claimed;
  // BASE64 bodies are bytes that are not text (an inbound event's binary body, a bodyBase64 push): sent decoded.
  const body = task.body !== null && task.bodyEncoding === "BASE64" ? Buffer.from(task.body, "base64") : task.body;
  const headers: Record<string, string> = { ...(task.headers as Record<string, string>) };
  if (task.bodyEncoding === "JSON" && !Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) {
    headers["content-type"] = "application/json";
  }
  headers["runlater-task-id"] = task.id;
  headers["runlater-execution-id"] = claimed.executionId;
  headers["runlater-attempt"] = String(claimed.attempt);
  headers["runlater-signature"] = signatureHeader(claimed.signingSecrets, Math.floor(now.getTime() / 1000), body ?? "");
  return { url: task.url, method: task.method, headers, body, timeoutMs: task.timeoutMs };
}
