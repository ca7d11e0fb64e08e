/**
 * Alert channels (where an organisation's alerts go) and alert routes (a
 * task's, monitor's or endpoint's own choice of channels over the defaults).
 */
import { v7 as uuidv7 } from "uuid";
import type { Queryable } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import type { AlertChannel, AlertRoute } from "../generated/prisma/client.js";
import type { ResourceType } from "./status-changes.js";
import { assertTargetUrlAllowed } from "./target-policy.js";
import { limits } from "./task-input.js";
import { asUuid } from "./tasks.js";

export type AlertChannelRow = AlertChannel;
export type AlertRouteRow = AlertRoute;

export const ALERT_CHANNEL_KINDS = ["EMAIL", "SLACK", "DISCORD", "WEBHOOK"] as const;
export type AlertChannelKind = (typeof ALERT_CHANNEL_KINDS)[number];
export const ALERT_MODES = ["DEFAULT", "OFF", "CHANNELS"] as const;
export type AlertMode = (typeof ALERT_MODES)[number];
export const RESOURCE_TYPES = ["TASK", "MONITOR", "ENDPOINT"] as const;

export const CHANNEL_COLUMNS = `id, organization_id AS "organizationId", name, kind, target, is_default AS "isDefault",
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const ROUTE_COLUMNS = `organization_id AS "organizationId", resource_type AS "resourceType", resource_id AS "resourceId", mode,
  channel_ids AS "channelIds", updated_at AS "updatedAt"`;

const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;

export interface ChannelInput {
  name?: string | null;
  kind?: AlertChannelKind | null;
  target?: string | null;
  isDefault?: boolean | null;
}

interface ChannelOptions {
  allowPrivateTargets: boolean;
  /** Email channels need an SMTP server. */
  smtpConfigured: boolean;
}

function parseTarget(kind: AlertChannelKind, target: string, options: ChannelOptions): string {
  if (kind === "EMAIL") {
    if (!options.smtpConfigured) {
      throw new DomainError("VALIDATION_FAILED", "email channels need an SMTP server: set RUNLATER_SMTP_URL", { field: "kind" });
    }
    if (!EMAIL.test(target) || target.length > 320) throw validationError("target", "target must be an email address");
    return target;
  }
  try {
    assertTargetUrlAllowed(target, options);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new DomainError(error.code, error.message.replace(/^url\b/, "target"), { field: "target", cause: error });
  }
  return target;
}

function parseName(name: string): string {
  if (name.trim() === "" || name.length > limits.maxNameLength)
    throw validationError("name", `name must be 1 to ${limits.maxNameLength} characters`);
  return name.trim();
}

export async function createAlertChannel(
  db: Queryable,
  organizationId: string,
  input: ChannelInput,
  options: ChannelOptions,
): Promise<AlertChannelRow> {
  if (!input.kind || !ALERT_CHANNEL_KINDS.includes(input.kind))
    throw validationError("kind", `kind must be one of ${ALERT_CHANNEL_KINDS.join(", ")}`);
  if (!input.target) throw validationError("target", "target is required: an email address or a webhook URL");
  const name = parseName(input.name ?? "");
  const target = parseTarget(input.kind, input.target, options);
  const { rows } = await db.query<AlertChannelRow>(
    `INSERT INTO alert_channels (id, organization_id, name, kind, target, is_default) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${CHANNEL_COLUMNS}`,
    [uuidv7(), organizationId, name, input.kind, target, input.isDefault ?? true],
  );
  return rows[0] as AlertChannelRow;
}

export async function getAlertChannel(db: Queryable, organizationId: string, id: string): Promise<AlertChannelRow> {
  const { rows } = await db.query<AlertChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM alert_channels WHERE id = $1 AND organization_id = $2`, [
    asUuid(id, "alert channel"),
    organizationId,
  ]);
  if (!rows[0]) throw notFound("alert channel", id);
  return rows[0];
}

export async function updateAlertChannel(
  db: Queryable,
  organizationId: string,
  id: string,
  input: Omit<ChannelInput, "kind">,
  options: ChannelOptions,
): Promise<AlertChannelRow> {
  const channel = await getAlertChannel(db, organizationId, id);
  const name = input.name === undefined || input.name === null ? channel.name : parseName(input.name);
  const target = input.target === undefined || input.target === null ? channel.target : parseTarget(channel.kind, input.target, options);
  const { rows } = await db.query<AlertChannelRow>(
    `UPDATE alert_channels SET name = $3, target = $4, is_default = $5, updated_at = now() WHERE id = $1 AND organization_id = $2
     RETURNING ${CHANNEL_COLUMNS}`,
    [channel.id, organizationId, name, target, input.isDefault ?? channel.isDefault],
  );
  return rows[0] as AlertChannelRow;
}

export async function deleteAlertChannel(db: Queryable, organizationId: string, id: string): Promise<void> {
  const { rowCount } = await db.query("DELETE FROM alert_channels WHERE id = $1 AND organization_id = $2", [
    asUuid(id, "alert channel"),
    organizationId,
  ]);
  if (!rowCount) throw notFound("alert channel", id);
}

const RESOURCE_TABLE: Record<ResourceType, string> = { TASK: "tasks", MONITOR: "monitors", ENDPOINT: "inbound_endpoints" };

/** 404 unless the organisation owns the resource. */
export async function assertResourceOwned(db: Queryable, organizationId: string, type: ResourceType, id: string): Promise<string> {
  const what = type.toLowerCase();
  const { rows } = await db.query(`SELECT 1 FROM ${RESOURCE_TABLE[type]} WHERE id = $1 AND organization_id = $2`, [
    asUuid(id, what),
    organizationId,
  ]);
  if (!rows[0]) throw notFound(what, id);
  return id;
}

/** The resource's alert route; DEFAULT (no row) when it has none. */
export async function getAlertRoute(db: Queryable, organizationId: string, type: ResourceType, id: string): Promise<AlertRouteRow> {
  await assertResourceOwned(db, organizationId, type, id);
  const { rows } = await db.query<AlertRouteRow>(
    `SELECT ${ROUTE_COLUMNS} FROM alert_routes WHERE resource_type = $1 AND resource_id = $2`,
    [type, id],
  );
  return rows[0] ?? { organizationId, resourceType: type, resourceId: id, mode: "DEFAULT", channelIds: [], updatedAt: new Date() };
}

export async function setAlertRoute(
  db: Queryable,
  organizationId: string,
  route: { resourceType: ResourceType; resourceId: string; mode: AlertMode; channelIds?: string[] | null },
): Promise<AlertRouteRow> {
  await assertResourceOwned(db, organizationId, route.resourceType, route.resourceId);
  const channelIds = [...new Set(route.channelIds ?? [])];
  if (route.mode === "CHANNELS" && channelIds.length === 0)
    throw validationError("channelIds", "mode CHANNELS needs at least one channel id");
  if (route.mode !== "CHANNELS" && channelIds.length > 0) throw validationError("channelIds", `channelIds apply to mode CHANNELS only`);
  for (const [index, channelId] of channelIds.entries()) {
    try {
      await getAlertChannel(db, organizationId, channelId);
    } catch (error) {
      if (error instanceof DomainError && error.code === "NOT_FOUND") throw validationError(`channelIds[${index}]`, error.message);
      throw error;
    }
  }
  if (route.mode === "DEFAULT") {
    await db.query("DELETE FROM alert_routes WHERE resource_type = $1 AND resource_id = $2", [route.resourceType, route.resourceId]);
    return getAlertRoute(db, organizationId, route.resourceType, route.resourceId);
  }
  const { rows } = await db.query<AlertRouteRow>(
    `INSERT INTO alert_routes (organization_id, resource_type, resource_id, mode, channel_ids) VALUES ($1, $2, $3, $4, $5::uuid[])
     ON CONFLICT (resource_type, resource_id) DO UPDATE SET mode = EXCLUDED.mode, channel_ids = EXCLUDED.channel_ids, updated_at = now()
     RETURNING ${ROUTE_COLUMNS}`,
    [organizationId, route.resourceType, route.resourceId, route.mode, channelIds],
  );
  return rows[0] as AlertRouteRow;
}
