/**
 * Circuit breakers per organisation and target host.
 *
 * Every settled attempt reports its outcome for its host. Server errors,
 * timeouts and connection failures count up; after `failureThreshold` in a
 * row the breaker opens and attempts to that host wait, for a pause that
 * doubles with each opening (5 s, 10 s, 20 s … up to 1 h). A 429 opens it at
 * once for the response's Retry-After (or `defaultTooManyRequestsPauseMs`).
 * A success closes it. Attempts that come due while it is open are deferred
 * to its end, with the reason recorded on the execution (`waitingReason`);
 * they do not count as attempts. Other hosts, and other organisations calling
 * the same host, are unaffected.
 */

import type { DeliveryOutcome } from "../../worker/http-delivery.js";
import type { Queryable } from "../db/pool.js";
import { parseRetryAfter } from "./retry-policy.js";

export const breakerPolicy = {
  failureThreshold: 5,
  basePauseMs: 5_000,
  maxPauseMs: 3_600_000,
  defaultTooManyRequestsPauseMs: 30_000,
} as const;

export interface OpenBreaker {
  openUntil: Date;
  reason: string;
}

/** host[:port] as the breaker keys it: one breaker per origin host. */
export function targetHost(url: string): string {
  return new URL(url).host;
}

/** Identifies an organisation's breaker for a target URL in the map findBreakers answers. */
export function breakerKey(organizationId: string, url: string): string {
  return `${organizationId}\u0000${targetHost(url)}`;
}

/**
 * The hosts' breakers as a batch of attempts is claimed, one query for all,
 * keyed by breakerKey: `open` while attempts must wait; `tracked` when the
 * host has a breaker row at all (failures counted), so a success knows
 * whether there is anything to close. Hosts without a row are absent.
 */
export async function findBreakers(
  db: Queryable,
  targets: Array<{ organizationId: string; url: string }>,
): Promise<Map<string, { open: OpenBreaker | null; tracked: boolean }>> {
  const breakers = new Map<string, { open: OpenBreaker | null; tracked: boolean }>();
  if (targets.length === 0) return breakers;
  const { rows } = await db.query<OpenBreaker & { organizationId: string; host: string; isOpen: boolean }>(
    `SELECT b.organization_id AS "organizationId", b.host, b.open_until AS "openUntil", b.reason,
            b.open_until IS NOT NULL AND b.open_until > now() AS "isOpen"
     FROM target_breakers b
     JOIN unnest($1::uuid[], $2::text[]) AS t(organization_id, host) ON b.organization_id = t.organization_id AND b.host = t.host`,
    [targets.map((target) => target.organizationId), targets.map((target) => targetHost(target.url))],
  );
  for (const row of rows) {
    breakers.set(`${row.organizationId}\u0000${row.host}`, {
      open: row.isOpen ? { openUntil: row.openUntil, reason: row.reason } : null,
      tracked: true,
    });
  }
  return breakers;
}

type BreakerEffect = { kind: "close" } | { kind: "count"; reason: string } | { kind: "open-for"; pauseMs: number; reason: string } | null;

function effectOf(outcome: DeliveryOutcome, now: Date): BreakerEffect {
  switch (outcome.kind) {
    case "response":
      if (outcome.status === 429) {
        const pauseMs = parseRetryAfter(outcome.headers["retry-after"], now) ?? breakerPolicy.defaultTooManyRequestsPauseMs;
        return {
          kind: "open-for",
          pauseMs,
          reason: `the host answered 429 Too Many Requests; pausing for ${Math.round(pauseMs / 1000)} s`,
        };
      }
      if (outcome.status >= 500) return { kind: "count", reason: `the host answered ${outcome.status}` };
      return { kind: "close" };
    case "timeout":
      return { kind: "count", reason: outcome.error };
    case "network-error":
      // A worker that died, or aborted its requests as it shut down, says nothing about the host.
      return outcome.code === "WORKER_LOST" || outcome.code === "ABORTED" ? null : { kind: "count", reason: outcome.error };
    default:
      return null;
  }
}

/**
 * Updates the host's breaker with an attempt's outcome, in the transaction
 * that records it. `tracked` is what the claim saw: a success against a host
 * without a breaker row (the common case) costs no statement. A row created
 * by a concurrent failure in between is then closed by the next success.
 */
export async function recordTargetOutcome(
  db: Queryable,
  organizationId: string,
  url: string,
  outcome: DeliveryOutcome,
  options: { tracked: boolean; now?: Date },
): Promise<void> {
  const now = options.now ?? new Date();
  const effect = effectOf(outcome, now);
  if (!effect) return;
  const host = targetHost(url);
  if (effect.kind === "close") {
    if (!options.tracked) return;
    await db.query("DELETE FROM target_breakers WHERE organization_id = $1 AND host = $2", [organizationId, host]);
    return;
  }
  if (effect.kind === "open-for") {
    await db.query(
      `INSERT INTO target_breakers (organization_id, host, consecutive_failures, openings, open_until, reason, updated_at)
       VALUES ($1, $2, 1, 1, $3, $4, now())
       ON CONFLICT (organization_id, host) DO UPDATE SET consecutive_failures = target_breakers.consecutive_failures + 1,
         openings = target_breakers.openings + 1, open_until = GREATEST(target_breakers.open_until, $3), reason = $4, updated_at = now()`,
      [organizationId, host, new Date(now.getTime() + effect.pauseMs), effect.reason],
    );
    return;
  }
  // Count the failure; at the threshold, open for a pause that doubles with each opening.
  await db.query(
    `INSERT INTO target_breakers (organization_id, host, consecutive_failures, updated_at) VALUES ($1, $2, 1, now())
     ON CONFLICT (organization_id, host) DO UPDATE SET consecutive_failures = target_breakers.consecutive_failures + 1, updated_at = now()`,
    [organizationId, host],
  );
  await db.query(
    `UPDATE target_breakers SET
       openings = openings + 1,
       -- The exponent is capped: past the longest pause it changes nothing, and 2 ^ 51 × 5,000 overflows bigint (every
       -- later failure's settle then failed, and the breaker never opened again).
       open_until = $3::timestamptz + LEAST($5::bigint, $4::bigint * (2 ^ LEAST(openings, 30))::bigint) * interval '1 millisecond',
       reason = $6 || ' (' || consecutive_failures || ' failures in a row)',
       consecutive_failures = 0
     WHERE organization_id = $1 AND host = $2 AND consecutive_failures >= $7`,
    [organizationId, host, now, breakerPolicy.basePauseMs, breakerPolicy.maxPauseMs, effect.reason, breakerPolicy.failureThreshold],
  );
}
