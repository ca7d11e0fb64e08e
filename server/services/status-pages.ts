/**
 * Status pages and badges: what an organisation shows the public. A task,
 * monitor or endpoint is private until its owner publishes it; a published
 * resource gets an unguessable badge token and, unless told otherwise, a row
 * on the organisation's status page. Nothing unpublished is ever readable
 * through these routes.
 */
import { randomBytes } from "node:crypto";
import type { Queryable } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import type { PublicResource, StatusPage } from "../generated/prisma/client.js";
import { assertResourceOwned } from "./alert-channels.js";
import { monitorState } from "./monitor-status.js";
import { MONITOR_COLUMNS, type MonitorRow } from "./monitors.js";
import type { HealthState, ResourceType } from "./status-changes.js";
import { limits } from "./task-input.js";
import { computeUptime, type Uptime } from "./uptime.js";

export type StatusPageRow = StatusPage;
export type PublicResourceRow = PublicResource;

export const UPTIME_DAYS = 90;
export const STATUS_PATH_PREFIX = "/status/";
export const BADGE_PATH_PREFIX = "/badge/";

const PAGE_COLUMNS = `organization_id AS "organizationId", slug, title, description, created_at AS "createdAt", updated_at AS "updatedAt"`;
const PUBLIC_COLUMNS = `organization_id AS "organizationId", resource_type AS "resourceType", resource_id AS "resourceId",
  badge_token AS "badgeToken", display_name AS "displayName", show_on_status_page AS "showOnStatusPage", position,
  created_at AS "createdAt"`;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;

export function badgeUrls(publicUrl: string, token: string): { status: string; uptime: string } {
  return { status: `${publicUrl}${BADGE_PATH_PREFIX}${token}/status.svg`, uptime: `${publicUrl}${BADGE_PATH_PREFIX}${token}/uptime.svg` };
}

export async function getStatusPage(db: Queryable, organizationId: string): Promise<StatusPageRow | null> {
  const { rows } = await db.query<StatusPageRow>(`SELECT ${PAGE_COLUMNS} FROM status_pages WHERE organization_id = $1`, [organizationId]);
  return rows[0] ?? null;
}

export async function setStatusPage(
  db: Queryable,
  organizationId: string,
  input: { slug: string; title: string; description?: string | null },
): Promise<StatusPageRow> {
  if (!SLUG.test(input.slug)) {
    throw validationError("slug", "slug must be 3 to 63 lower-case letters, digits and '-', not starting or ending with '-'");
  }
  if (input.title.trim() === "" || input.title.length > limits.maxNameLength) {
    throw validationError("title", `title must be 1 to ${limits.maxNameLength} characters`);
  }
  if (input.description && input.description.length > 2000)
    throw validationError("description", "description must be at most 2000 characters");
  try {
    const { rows } = await db.query<StatusPageRow>(
      `INSERT INTO status_pages (organization_id, slug, title, description) VALUES ($1, $2, $3, $4)
       ON CONFLICT (organization_id) DO UPDATE SET slug = EXCLUDED.slug, title = EXCLUDED.title, description = EXCLUDED.description,
         updated_at = now()
       RETURNING ${PAGE_COLUMNS}`,
      [organizationId, input.slug, input.title.trim(), input.description ?? null],
    );
    return rows[0] as StatusPageRow;
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new DomainError("CONFLICT", `the status page slug "${input.slug}" is taken`, { field: "slug" });
    }
    throw error;
  }
}

export async function deleteStatusPage(db: Queryable, organizationId: string): Promise<void> {
  const { rowCount } = await db.query("DELETE FROM status_pages WHERE organization_id = $1", [organizationId]);
  if (!rowCount) throw notFound("status page", "of your organisation");
}

export async function publishResource(
  db: Queryable,
  organizationId: string,
  input: {
    resourceType: ResourceType;
    resourceId: string;
    displayName?: string | null;
    showOnStatusPage?: boolean | null;
    position?: number | null;
  },
): Promise<PublicResourceRow> {
  await assertResourceOwned(db, organizationId, input.resourceType, input.resourceId);
  if (
    input.displayName !== undefined &&
    input.displayName !== null &&
    (input.displayName.trim() === "" || input.displayName.length > limits.maxNameLength)
  ) {
    throw validationError("displayName", `displayName must be 1 to ${limits.maxNameLength} characters`);
  }
  if (
    input.position !== undefined &&
    input.position !== null &&
    (!Number.isInteger(input.position) || Math.abs(input.position) > 1_000_000)
  ) {
    throw validationError("position", "position must be a whole number between -1000000 and 1000000");
  }
  const { rows } = await db.query<PublicResourceRow>(
    `INSERT INTO public_resources (organization_id, resource_type, resource_id, badge_token, display_name, show_on_status_page, position)
     VALUES ($1, $2, $3, $4, $5, coalesce($6, true), coalesce($7, 0))
     ON CONFLICT (resource_type, resource_id) DO UPDATE SET
       -- An omitted field keeps its value; displayName given as null goes back to the resource's own name.
       display_name = CASE WHEN $8 THEN EXCLUDED.display_name ELSE public_resources.display_name END,
       show_on_status_page = coalesce($6, public_resources.show_on_status_page), position = coalesce($7, public_resources.position)
     RETURNING ${PUBLIC_COLUMNS}`,
    [
      organizationId,
      input.resourceType,
      input.resourceId,
      randomBytes(16).toString("base64url"),
      input.displayName?.trim() ?? null,
      input.showOnStatusPage ?? null,
      input.position ?? null,
      input.displayName !== undefined,
    ],
  );
  return rows[0] as PublicResourceRow;
}

/** Makes a resource private again: its badges answer 404 and it leaves the status page. */
export async function unpublishResource(
  db: Queryable,
  organizationId: string,
  resourceType: ResourceType,
  resourceId: string,
): Promise<void> {
  await assertResourceOwned(db, organizationId, resourceType, resourceId);
  await db.query("DELETE FROM public_resources WHERE resource_type = $1 AND resource_id = $2", [resourceType, resourceId]);
}

/** What the public sees of a resource now. */
export type PublicState = "UP" | "DOWN" | "LATE" | "NEW" | "PAUSED";

export interface PublicResourceView {
  type: ResourceType;
  name: string;
  state: PublicState;
  uptime: Uptime;
}

interface ResourceFacts {
  name: string;
  createdAt: Date;
  monitor: MonitorRow | null;
}

/** What the public sees as the name of a published task without a name or displayName. */
export const UNNAMED_TASK = "Unnamed task";

async function resourceFacts(db: Queryable, type: ResourceType, id: string): Promise<ResourceFacts | null> {
  if (type === "MONITOR") {
    const { rows } = await db.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE id = $1`, [id]);
    return rows[0] ? { name: rows[0].name, createdAt: rows[0].createdAt, monitor: rows[0] } : null;
  }
  const sql =
    type === "TASK"
      ? // Never the URL: it may hold a token or name a private host. An unnamed task is published as such (or with a
        // displayName).
        `SELECT coalesce(name, '${UNNAMED_TASK}') AS name, created_at AS "createdAt" FROM tasks WHERE id = $1`
      : `SELECT name, created_at AS "createdAt" FROM inbound_endpoints WHERE id = $1`;
  const { rows } = await db.query<{ name: string; createdAt: Date }>(sql, [id]);
  return rows[0] ? { ...rows[0], monitor: null } : null;
}

/** The current state and 90-day uptime of a published resource; null if it no longer exists. */
export async function viewPublicResource(
  db: Queryable,
  published: PublicResourceRow,
  now = new Date(),
): Promise<PublicResourceView | null> {
  const facts = await resourceFacts(db, published.resourceType, published.resourceId);
  if (!facts) return null;
  const windowStart = new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 - (UPTIME_DAYS - 1) * 86_400_000);
  // The last change before the window sets the state it starts in; then every change inside it.
  const { rows: changes } = await db.query<{ state: HealthState; at: Date }>(
    `(SELECT state, changed_at AS at FROM status_changes WHERE resource_type = $1 AND resource_id = $2 AND changed_at < $3
      ORDER BY changed_at DESC, id DESC LIMIT 1)
     UNION ALL
     (SELECT state, changed_at AS at FROM status_changes WHERE resource_type = $1 AND resource_id = $2 AND changed_at >= $3
      ORDER BY changed_at, id)`,
    [published.resourceType, published.resourceId, windowStart],
  );
  const latest = changes[changes.length - 1]?.state ?? null;
  // A monitor is observed from its first ping; tasks and endpoints from their creation.
  const observedFrom = facts.monitor ? (changes[0]?.at ?? now) : facts.createdAt;
  const state: PublicState = facts.monitor ? monitorState(facts.monitor, now).status : latest === "DOWN" ? "DOWN" : "UP";
  return {
    type: published.resourceType,
    name: published.displayName ?? facts.name,
    state,
    uptime: computeUptime(changes, observedFrom, now, UPTIME_DAYS),
  };
}

export async function loadPublicStatusPage(
  db: Queryable,
  slug: string,
  now = new Date(),
): Promise<{ page: StatusPageRow; resources: PublicResourceView[] } | null> {
  const { rows } = await db.query<StatusPageRow>(`SELECT ${PAGE_COLUMNS} FROM status_pages WHERE slug = $1`, [slug]);
  const page = rows[0];
  if (!page) return null;
  const { rows: published } = await db.query<PublicResourceRow>(
    `SELECT ${PUBLIC_COLUMNS} FROM public_resources WHERE organization_id = $1 AND show_on_status_page ORDER BY position, created_at`,
    [page.organizationId],
  );
  const views = await Promise.all(published.map((resource) => viewPublicResource(db, resource, now)));
  return { page, resources: views.filter((view): view is PublicResourceView => view !== null) };
}

export async function loadBadge(db: Queryable, token: string, now = new Date()): Promise<PublicResourceView | null> {
  const { rows } = await db.query<PublicResourceRow>(`SELECT ${PUBLIC_COLUMNS} FROM public_resources WHERE badge_token = $1`, [token]);
  return rows[0] ? viewPublicResource(db, rows[0], now) : null;
}
