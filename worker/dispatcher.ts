/**
 * The dispatcher: fetches due attempts from pg-boss in batches, claims each
 * batch in one transaction, and runs up to `concurrency` HTTP attempts at
 * once. Each attempt is settled as soon as it finishes (a slow endpoint never
 * holds back the others), together with the attempts that finish at the same
 * time (attempt-settler.ts). Round trips to PostgreSQL, not CPU, bound
 * throughput, hence the batches: a fetched batch costs a fetch and a claim, and
 * a settled batch one transaction, whatever their size. See
 * server/services/attempts.ts for the state machine of an attempt.
 */
import { setMaxListeners } from "node:events";

import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { type ClaimedAttempt, type ClaimResult, claimAttempts } from "../server/services/attempts.js";
import { DISPATCH_QUEUE, type DispatchJobData } from "../server/services/dispatch-queue.js";
import { admitWaitingAttempts } from "../server/services/queues.js";
import { signatureHeader } from "../server/services/signature.js";
import { AttemptSettler } from "./attempt-settler.js";
import { DispatchWakeups } from "./dispatch-wakeups.js";
import { createHttpDeliverer, type DeliveryRequest } from "./http-delivery.js";

const MAX_FETCH_BATCH = 100;
/** With attempts in flight, the dispatcher fetches again once this share of its concurrency is free… */
const REFILL_SHARE = 0.25;
/** …or this long after its last fetch. */
const REFILL_WAIT_MS = 20;
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
}

export class Dispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly wakeups: DispatchWakeups;
  private readonly settler: AttemptSettler;
  private readonly deliverer;
  private readonly shutdown = new AbortController();
  private loop: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping = false;
  private organizationLimits: { tiers: Record<string, number>; readAt: number } = { tiers: {}, readAt: 0 };
  private readonly refillBatch: number;
  private lastFetchAt = 0;

  constructor(private readonly options: DispatcherOptions) {
    this.wakeups = new DispatchWakeups(options.databaseUrl, options.pool, options.logger);
    this.settler = new AttemptSettler(options.pool, options.boss);
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
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.deliverer.close();
  }

  private async fetchLoop(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.concurrency - this.inFlight.size;
      if (free <= 0) {
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
      let jobs: JobWithMetadata<DispatchJobData>[] = [];
      try {
        await this.admitQueuedAttempts();
        jobs = await this.options.boss.fetch<DispatchJobData>(DISPATCH_QUEUE, {
          batchSize: requested,
          includeMetadata: true,
          // Per-organisation fairness: no organisation has more attempts in flight (across all
          // workers) than its limit, so one organisation's backlog never delays another's tasks.
          groupConcurrency: { default: DEFAULT_ORGANIZATION_CONCURRENCY, tiers: await this.organizationTiers() },
        });
      } catch (error) {
        this.options.logger.error({ err: error }, "fetching due attempts failed");
      }
      // The batch is claimed while the loop fetches the next one: the two round trips overlap.
      const claims =
        jobs.length === 0
          ? Promise.resolve(new Map<string, ClaimResult>())
          : claimAttempts(
              this.options.pool,
              this.options.boss,
              jobs.map((job) => ({ jobId: job.id, executionId: job.data.executionId })),
            ).catch((error) => {
              // The jobs stay active: pg-boss hands them out again once their heartbeat expires.
              this.options.logger.error({ err: error, jobs: jobs.length }, "claiming fetched attempts failed");
              return new Map<string, ClaimResult>();
            });
      for (const job of jobs) this.track(job, claims);
      if (jobs.length < requested) {
        await this.wakeups
          .armForNextDue()
          .catch((error) => this.options.logger.error({ err: error }, "reading the next due attempt failed"));
        await this.wakeups.waitForWork();
      }
    }
  }

  /** Gives pg-boss jobs to the attempts that queues with free slots may start now (see queues.ts). */
  private async admitQueuedAttempts(): Promise<void> {
    const { retryAt } = await admitWaitingAttempts(this.options.pool, this.options.boss);
    // A rate-limited queue may admit again once its window moves on.
    if (retryAt) this.wakeups.wakeAt(retryAt.getTime());
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

  private track(job: JobWithMetadata<DispatchJobData>, claims: Promise<Map<string, ClaimResult>>): void {
    const run = this.runAttempt(job, claims)
      .catch((error) => this.options.logger.error({ err: error, jobId: job.id }, "attempt failed unexpectedly; its job will be retried"))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.wakeups.wake();
      });
    this.inFlight.set(job.id, run);
  }

  private async runAttempt(job: JobWithMetadata<DispatchJobData>, claims: Promise<Map<string, ClaimResult>>): Promise<void> {
    const { logger } = this.options;
    const claim = (await claims).get(job.id);
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
    const outcome = await this.deliverer.deliver(buildDeliveryRequest(claim.attempt), this.shutdown.signal);
    const verdict = await this.settler.settle({ claimed: { ...claim.attempt, jobId: job.id }, outcome });
    logger.debug(
      { taskId: claim.attempt.task.id, attempt: claim.attempt.attempt, outcome: outcome.kind, verdict: verdict.kind },
      "attempt settled",
    );
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
  const body = task.body;
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
