/**
 * Inbound webhook events: receiving them, forwarding them, replaying them and
 * forgetting them after the organisation's retention period.
 *
 * Receiving is one transaction: the event row and, when it is accepted, one
 * ordinary task per destination (signed, retried and recorded like any task)
 * with the InboundDelivery rows linking them to the event. The sender gets its
 * 202 only after that commit, so an acknowledged event is never lost and is
 * always forwarded. A sender whose signature does not verify gets a 401; its
 * event is stored REJECTED (visible, replayable by the owner), not forwarded.
 *
 * In-order delivery (`ordered`) puts each destination's forwards in a queue of
 * their own with concurrency 1: events reach each destination one at a time,
 * in the order they were received, and a failing destination holds back only
 * its own queue.
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import type { PgBoss } from "pg-boss";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { notFound, validationError } from "../errors.js";
import { ENDPOINT_COLUMNS, type InboundEndpointRow } from "./inbound-endpoints.js";
import { type IncomingHeaders, verifyInboundSignature } from "./inbound-signatures.js";
import { noticeInboundEvent } from "./realtime-notices.js";
import { HTTP_METHODS, type HttpMethod, RESERVED_HEADERS } from "./task-input.js";
import { asUuid, insertTasks, type TaskToInsert } from "./tasks.js";

/** Largest body /in/{slug} accepts; larger requests are answered 413 and not stored. */
export const MAX_INBOUND_BODY_BYTES = 1024 * 1024;
export const MAX_REPLAY_IDS = 100;
export const RETENTION_DAYS = { min: 1, max: 3650 } as const;
/** Events deleted per statement by the retention sweep, so a large backlog never holds long locks. */
const PURGE_BATCH = 5000;

export interface ReceivedRequest {
  method: string;
  /** The path after /in/{slug} (often empty). */
  path: string;
  query: string;
  headers: IncomingHeaders;
  body: Buffer;
  sourceIp: string;
}

export type ReceiveOutcome =
  | { kind: "unknown-endpoint" }
  | { kind: "accepted"; eventId: string; deliveries: number }
  | { kind: "rejected"; eventId: string; reason: string };

export interface InboundDependencies {
  pool: Pool;
  boss: PgBoss;
}

/** Headers of the sender that are not passed on: they describe the hop, not the event. */
const HOP_HEADERS = new Set([...RESERVED_HEADERS, "proxy-connection", "proxy-authorization", "expect"]);

function storedHeaders(headers: IncomingHeaders): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) stored[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return stored;
}

export async function receiveInboundEvent(deps: InboundDependencies, slug: string, request: ReceivedRequest): Promise<ReceiveOutcome> {
  return withTransaction(deps.pool, async (client) => {
    const { rows } = await client.query<InboundEndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM inbound_endpoints WHERE slug = $1`, [slug]);
    const endpoint = rows[0];
    if (!endpoint) return { kind: "unknown-endpoint" };
    const verdict = endpoint.verification
      ? verifyInboundSignature(
          { kind: endpoint.verification, secret: endpoint.verificationSecret ?? "", header: endpoint.verificationHeader },
          request.headers,
          request.body,
        )
      : { valid: true as const };
    const { rows: inserted } = await client.query<StoredEvent>(
      `INSERT INTO inbound_events (id, organization_id, endpoint_id, status, rejection_reason, method, path, query, headers, body, source_ip)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${EVENT_FORWARD_COLUMNS}`,
      [
        uuidv7(),
        endpoint.organizationId,
        endpoint.id,
        verdict.valid ? "ACCEPTED" : "REJECTED",
        verdict.valid ? null : verdict.reason,
        request.method,
        request.path,
        request.query,
        JSON.stringify(storedHeaders(request.headers)),
        request.body,
        request.sourceIp,
      ],
    );
    const event = inserted[0] as StoredEvent;
    await noticeInboundEvent(client, { organizationId: endpoint.organizationId, endpointId: endpoint.id, eventId: event.id });
    if (!verdict.valid) return { kind: "rejected", eventId: event.id, reason: verdict.reason };
    const deliveries = await forwardEvent(client, endpoint, event, endpoint.forwardUrls, { replay: false });
    return { kind: "accepted", eventId: event.id, deliveries: deliveries.length };
  });
}

interface StoredEvent {
  id: string;
  endpointId: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
}

const EVENT_FORWARD_COLUMNS = `id, endpoint_id AS "endpointId", method, headers, body`;

/** Queue of one destination's forwards when the endpoint delivers in order. */
export function orderedQueueName(endpointId: string, destination: string): string {
  return `inbound:${endpointId}:${createHash("sha256").update(destination).digest("hex").slice(0, 8)}`;
}

/** The request a forward sends: the sender's method, headers and body, with the endpoint's overrides. */
function forwardRequest(endpoint: InboundEndpointRow, event: StoredEvent, destination: string, now: Date): TaskToInsert {
  const method: HttpMethod =
    endpoint.forwardMethod ?? ((HTTP_METHODS as readonly string[]).includes(event.method) ? (event.method as HttpMethod) : "POST");
  const headers: Record<string, string> = {};
  // The headers the sender's Connection header names are hop-by-hop too (RFC 9110, 7.6.1): for its own connection.
  const connectionOnly = new Set((event.headers.connection ?? "").split(",").map((name) => name.trim().toLowerCase()));
  for (const [name, value] of Object.entries(event.headers)) {
    if (!HOP_HEADERS.has(name) && !connectionOnly.has(name) && !name.startsWith("runlater-")) headers[name] = value;
  }
  for (const [name, value] of Object.entries(endpoint.forwardHeaders as Record<string, string>)) {
    for (const existing of Object.keys(headers)) if (existing === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  headers["runlater-event-id"] = event.id;
  headers["runlater-endpoint-id"] = endpoint.id;
  return {
    url: destination,
    method,
    headers,
    ...(method === "GET" || event.body.length === 0 ? { body: null, bodyEncoding: null } : forwardedBody(event.body)),
    runAt: now,
    retries: endpoint.retries,
    timeoutMs: endpoint.timeoutMs,
    name: `inbound: ${endpoint.name}`,
    queue: endpoint.ordered ? orderedQueueName(endpoint.id, destination) : null,
  };
}

/**
 * The sender's body as a task holds it: UTF-8 text as it is (RAW), any other bytes (a gzip or protobuf body, text in
 * another charset) in base64 (BASE64), which the worker decodes before sending, so the destination gets the bytes the
 * sender sent. Text with a NUL byte is bytes too: PostgreSQL text cannot hold U+0000.
 */
function forwardedBody(body: Buffer): Pick<TaskToInsert, "body" | "bodyEncoding"> {
  return isUtf8(body) && !body.includes(0)
    ? { body: body.toString("utf8"), bodyEncoding: "RAW" }
    : { body: body.toString("base64"), bodyEncoding: "BASE64" };
}

/** Creates one task per destination for `event`, and the rows linking them to it. */
async function forwardEvent(
  client: PoolClient,
  endpoint: InboundEndpointRow,
  event: StoredEvent,
  destinations: string[],
  options: { replay: boolean },
): Promise<ForwardedDelivery[]> {
  if (destinations.length === 0) return [];
  const now = new Date();
  const tasks = await insertTasks(
    client,
    endpoint.organizationId,
    destinations.map((destination) => forwardRequest(endpoint, event, destination, now)),
  );
  await client.query(
    `INSERT INTO inbound_deliveries (task_id, event_id, endpoint_id, destination, replay)
     SELECT task_id, $2, $3, destination, $4 FROM unnest($1::uuid[], $5::text[]) AS input(task_id, destination)`,
    [tasks.map((task) => task.id), event.id, endpoint.id, options.replay, destinations],
  );
  return tasks.map((task, index) => ({ taskId: task.id, eventId: event.id, destination: destinations[index] as string }));
}

export interface ForwardedDelivery {
  taskId: string;
  eventId: string;
  destination: string;
}

/**
 * Forwards stored events again, all or none: to every current destination of
 * their endpoint, or only to `destination` (which must be one of them). A
 * REJECTED event can be replayed too: the owner vouches for it.
 */
export async function replayInboundEvents(
  deps: InboundDependencies,
  organizationId: string,
  ids: string[],
  destination: string | null = null,
): Promise<ForwardedDelivery[]> {
  if (ids.length === 0) throw validationError("ids", "give at least one event id");
  if (ids.length > MAX_REPLAY_IDS) throw validationError("ids", `at most ${MAX_REPLAY_IDS} events at once; got ${ids.length}`);
  const unique = [...new Set(ids.map((id) => asUuid(id, "event")))];
  return withTransaction(deps.pool, async (client) => {
    const { rows } = await client.query<StoredEvent & { endpoint: InboundEndpointRow }>(
      `SELECT e.id, e.endpoint_id AS "endpointId", e.method, e.headers, e.body, row_to_json(p) AS endpoint
       FROM inbound_events e
       JOIN LATERAL (SELECT ${ENDPOINT_COLUMNS} FROM inbound_endpoints WHERE inbound_endpoints.id = e.endpoint_id) p ON true
       WHERE e.id = ANY($1::uuid[]) AND e.organization_id = $2
       ORDER BY e.id`,
      [unique, organizationId],
    );
    const found = new Set(rows.map((row) => row.id));
    const missing = unique.find((id) => !found.has(id));
    if (missing) throw notFound("event", missing);
    const replayed: ForwardedDelivery[] = [];
    for (const row of rows) {
      const endpoint = row.endpoint;
      if (destination !== null && !endpoint.forwardUrls.includes(destination)) {
        throw validationError("destination", `destination must be one of the endpoint's forwardUrls (event ${row.id})`);
      }
      const destinations = destination === null ? endpoint.forwardUrls : [destination];
      if (destinations.length === 0) {
        throw validationError("ids", `the endpoint of event ${row.id} has no forwardUrls to replay to`);
      }
      replayed.push(...(await forwardEvent(client, endpoint, row, destinations, { replay: true })));
    }
    return replayed;
  });
}

export async function setInboundRetention(db: Queryable, organizationId: string, days: number): Promise<number> {
  if (!Number.isInteger(days) || days < RETENTION_DAYS.min || days > RETENTION_DAYS.max) {
    throw validationError("days", `days must be a whole number between ${RETENTION_DAYS.min} and ${RETENTION_DAYS.max}`);
  }
  await db.query("UPDATE organizations SET inbound_retention_days = $2 WHERE id = $1", [organizationId, days]);
  return days;
}

/**
 * Deletes events older than their organisation's retention, oldest first, in
 * batches. Returns how many were deleted. Safe to run from several workers.
 */
export async function purgeExpiredInboundEvents(pool: Pool, now = new Date()): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM inbound_events WHERE id IN (
         SELECT e.id FROM inbound_events e JOIN organizations o ON o.id = e.organization_id
         WHERE e.received_at < $1::timestamptz - make_interval(days => o.inbound_retention_days)
           -- An event waits for its forwards still to run: their deliveries (deleted with it) are how a forward's
           -- outcome reaches its endpoint's health and alerts.
           AND NOT EXISTS (
             SELECT 1 FROM inbound_deliveries d JOIN tasks t ON t.id = d.task_id
             WHERE d.event_id = e.id AND t.status IN ('SCHEDULED', 'RUNNING'))
         ORDER BY e.received_at LIMIT ${PURGE_BATCH} FOR UPDATE OF e SKIP LOCKED)`,
      [now],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < PURGE_BATCH) return deleted;
  }
}
