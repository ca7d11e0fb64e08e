/**
 * NOTIFY notices for live views (GraphQL subscriptions `inboundEvents` and
 * `monitorUpdated`): ids, not payloads, sent in the transaction that made the
 * change, so a listener hears about committed changes only and reads the rows
 * itself. Any server instance can LISTEN, whichever process made the change.
 */
import type { Queryable } from "../db/pool.js";

/** Payload: {"organizationId","endpointId","eventId"}. */
export const INBOUND_EVENT_CHANNEL = "runlater_inbound_events";
/** Payload: {"organizationId","monitorId"}; after every ping, state change or settings change. */
export const MONITOR_UPDATED_CHANNEL = "runlater_monitor_updates";

export async function noticeInboundEvent(
  db: Queryable,
  ids: { organizationId: string; endpointId: string; eventId: string },
): Promise<void> {
  await db.query("SELECT pg_notify($1, $2)", [INBOUND_EVENT_CHANNEL, JSON.stringify(ids)]);
}

/** One notice per monitor, in one statement. */
export async function noticeMonitorsUpdated(db: Queryable, monitors: Array<{ organizationId: string; monitorId: string }>): Promise<void> {
  if (monitors.length === 0) return;
  await db.query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", [
    MONITOR_UPDATED_CHANNEL,
    monitors.map((ids) => JSON.stringify(ids)),
  ]);
}
