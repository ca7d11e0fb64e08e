/**
 * Announces API pushes after they commit: the dispatch wake-up (workers) and
 * the live events of the new tasks and first attempts (subscribers), the
 * notifications the push statement would otherwise send itself.
 *
 * Why: a transaction that NOTIFYs holds PostgreSQL's notification-queue lock
 * until its commit is flushed, so with a NOTIFY in every push, pushes committed
 * one after another, each behind the previous one's WAL flush (measured: 150
 * single-row INSERTs/s with the live-event trigger, 1,100 without; migration
 * `announced_pushes`). Announced here, the pushes commit in parallel, and the
 * pushes of one moment share one notifying statement: while one announcement
 * is in flight, the next pushes wait for it and go out together.
 *
 * The payloads are the triggers' own (live-events.ts decodes both alike). An
 * announcement lost to a crash between commit and NOTIFY costs a worker's
 * backstop poll (2 s) and a live view's refresh; the rows are committed.
 */
import type { Pool } from "../db/pool.js";
import type { Logger } from "../logger.js";
import { DISPATCH_CHANNEL } from "./dispatch-queue.js";
import { LIVE_EVENTS_CHANNEL } from "./live-events.js";

/** Rows per notification, as in the triggers: payloads stay far below PostgreSQL's 8000-byte limit. */
const ROWS_PER_NOTIFICATION = 100;

interface PendingAnnouncements {
  /** New tasks' and first attempts' ids, by organisation. */
  byOrganization: Map<string, { taskIds: string[]; executionIds: string[] }>;
  /** The earliest due time (epoch ms) among the new attempts. */
  earliestDueMs: number;
}

export class PushAnnouncer {
  private pending: PendingAnnouncements | null = null;
  private sending: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  /** Queues the announcement of committed tasks and their first attempts (PENDING, due at `earliestDueMs` at the soonest). */
  announce(organizationId: string, taskIds: string[], executionIds: string[], earliestDueMs: number): void {
    this.pending ??= { byOrganization: new Map(), earliestDueMs: Number.POSITIVE_INFINITY };
    const organization = this.pending.byOrganization.get(organizationId) ?? { taskIds: [], executionIds: [] };
    organization.taskIds.push(...taskIds);
    organization.executionIds.push(...executionIds);
    this.pending.byOrganization.set(organizationId, organization);
    this.pending.earliestDueMs = Math.min(this.pending.earliestDueMs, earliestDueMs);
    this.sending ??= this.sendAll();
  }

  /** Resolves once everything announced so far is sent (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async sendAll(): Promise<void> {
    try {
      while (this.pending) {
        const batch = this.pending;
        this.pending = null;
        try {
          await this.pool.query("SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) AS n(channel, payload)", [
            ...notificationsOf(batch),
          ]);
        } catch (error) {
          this.logger.warn({ err: error }, "could not announce pushed tasks; workers will find them by polling");
        }
      }
    } finally {
      this.sending = null;
    }
  }
}

/** The batch as (channels, payloads): the dispatch wake-up, then the triggers' task and execution notifications. */
function notificationsOf(batch: PendingAnnouncements): [string[], string[]] {
  const channels = [DISPATCH_CHANNEL];
  const payloads = [String(batch.earliestDueMs)];
  for (const [organizationId, { taskIds, executionIds }] of batch.byOrganization) {
    for (const ids of chunks(taskIds)) {
      channels.push(LIVE_EVENTS_CHANNEL);
      payloads.push(JSON.stringify({ k: "t", o: organizationId, c: true, r: ids.map((id) => [id, "SCHEDULED", true]) }));
    }
    for (const ids of chunks(executionIds)) {
      channels.push(LIVE_EVENTS_CHANNEL);
      payloads.push(JSON.stringify({ k: "e", o: organizationId, r: ids.map((id) => [id, "PENDING"]) }));
    }
  }
  return [channels, payloads];
}

function chunks(ids: string[]): string[][] {
  const result: string[][] = [];
  for (let start = 0; start < ids.length; start += ROWS_PER_NOTIFICATION) result.push(ids.slice(start, start + ROWS_PER_NOTIFICATION));
  return result;
}
