/**
 * Inbound webhook endpoints: the settings of a public URL `/in/{slug}` that
 * stores what it receives and forwards it (services/inbound-events.ts).
 *
 * The slug is the endpoint's only secret-free credential: 128 random bits,
 * so it cannot be guessed or enumerated. A sender's signature can be required
 * on top of it (Stripe, GitHub or a generic HMAC).
 */
import { randomBytes } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import type { Queryable } from "../db/pool.js";
import { DomainError, notFound, validationError } from "../errors.js";
import type { InboundEndpoint } from "../generated/prisma/client.js";
import { INBOUND_VERIFICATIONS, type InboundVerification } from "./inbound-signatures.js";
import { assertTargetUrlAllowed } from "./target-policy.js";
import { HTTP_METHODS, type HttpMethod, limits, parseHeaders } from "./task-input.js";
import { asUuid } from "./tasks.js";

export type InboundEndpointRow = InboundEndpoint;

export const ENDPOINT_COLUMNS = `id, organization_id AS "organizationId", name, slug, forward_urls AS "forwardUrls",
  forward_method AS "forwardMethod", forward_headers AS "forwardHeaders", ordered, retries, timeout_ms AS "timeoutMs",
  verification, verification_secret AS "verificationSecret", verification_header AS "verificationHeader",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export const endpointLimits = {
  maxForwardUrls: 10,
  maxSecretLength: 1000,
  retries: { min: 0, max: 20, default: 5 },
} as const;

/** Path of an endpoint's public URL. */
export const INBOUND_PATH_PREFIX = "/in/";

export interface VerifyInput {
  kind: InboundVerification;
  secret: string;
  /** HMAC only: the header that carries the signature. */
  header?: string | null;
}

/** Fields of a create (all but forwardUrls and name optional) or an update (all optional; null clears `verify`). */
export interface EndpointInput {
  name?: string | null;
  forwardUrls?: string[] | null;
  verify?: VerifyInput | null;
  ordered?: boolean | null;
  forwardMethod?: string | null;
  forwardHeaders?: Record<string, unknown> | null;
  retries?: number | null;
  timeoutMs?: number | null;
}

interface EndpointColumns {
  name: string;
  forwardUrls: string[];
  forwardMethod: HttpMethod | null;
  forwardHeaders: Record<string, string>;
  ordered: boolean;
  retries: number;
  timeoutMs: number;
  verification: InboundVerification | null;
  verificationSecret: string | null;
  verificationHeader: string | null;
}

export function publicEndpointUrl(publicUrl: string, slug: string): string {
  return `${publicUrl}${INBOUND_PATH_PREFIX}${slug}`;
}

function generateSlug(): string {
  return randomBytes(16).toString("base64url");
}

function parseName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw validationError("name", "name is required");
  if (value.trim().length > limits.maxNameLength) throw validationError("name", `name must be at most ${limits.maxNameLength} characters`);
  return value.trim();
}

function parseForwardUrls(value: unknown, options: { allowPrivateTargets: boolean }): string[] {
  if (!Array.isArray(value)) throw validationError("forwardUrls", "forwardUrls must be a list of URLs");
  if (value.length > endpointLimits.maxForwardUrls) {
    throw validationError("forwardUrls", `at most ${endpointLimits.maxForwardUrls} forward URLs; got ${value.length}`);
  }
  const urls = value.map((url, index) => {
    const field = `forwardUrls[${index}]`;
    if (typeof url !== "string" || url.length > limits.maxUrlLength) throw validationError(field, `${field} must be a URL`);
    try {
      assertTargetUrlAllowed(url, options);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new DomainError(error.code, error.message.replace(/^url\b/, field), { field, cause: error });
    }
    return url;
  });
  if (new Set(urls).size !== urls.length) throw validationError("forwardUrls", "forwardUrls must not repeat a URL");
  return urls;
}

function parseVerify(value: VerifyInput): Pick<EndpointColumns, "verification" | "verificationSecret" | "verificationHeader"> {
  if (!INBOUND_VERIFICATIONS.includes(value.kind)) {
    throw validationError("verify.kind", `verify.kind must be one of ${INBOUND_VERIFICATIONS.join(", ")}`);
  }
  if (typeof value.secret !== "string" || value.secret === "" || value.secret.length > endpointLimits.maxSecretLength) {
    throw validationError("verify.secret", `verify.secret must be 1 to ${endpointLimits.maxSecretLength} characters`);
  }
  let header: string | null = null;
  if (value.kind === "HMAC") {
    header = value.header?.trim() ?? "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
      throw validationError("verify.header", "verify.header must name the header carrying the signature (HMAC verification)");
    }
  } else if (value.header) {
    throw validationError("verify.header", `verify.header applies to HMAC only; ${value.kind} signatures have a fixed header`);
  }
  return { verification: value.kind, verificationSecret: value.secret, verificationHeader: header };
}

function parseForwardMethod(value: string | null): HttpMethod | null {
  if (value === null) return null;
  const method = value.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw validationError("forwardMethod", `forwardMethod must be one of ${HTTP_METHODS.join(", ")}`);
  }
  return method as HttpMethod;
}

function parseRange(field: string, value: number, range: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw validationError(field, `${field} must be a whole number between ${range.min} and ${range.max}`);
  }
  return value;
}

/** Applies `input` over `current` (the defaults for a create), validating each given field. */
function mergeEndpointInput(current: EndpointColumns, input: EndpointInput, options: { allowPrivateTargets: boolean }): EndpointColumns {
  const next = { ...current };
  if (input.name !== undefined && input.name !== null) next.name = parseName(input.name);
  if (input.forwardUrls !== undefined && input.forwardUrls !== null) next.forwardUrls = parseForwardUrls(input.forwardUrls, options);
  if (input.verify === null) Object.assign(next, { verification: null, verificationSecret: null, verificationHeader: null });
  else if (input.verify !== undefined) Object.assign(next, parseVerify(input.verify));
  if (input.ordered !== undefined && input.ordered !== null) next.ordered = input.ordered;
  if (input.forwardMethod !== undefined) next.forwardMethod = parseForwardMethod(input.forwardMethod);
  if (input.forwardHeaders !== undefined) next.forwardHeaders = parseHeaders(input.forwardHeaders ?? {}, "forwardHeaders");
  if (input.retries !== undefined && input.retries !== null) next.retries = parseRange("retries", input.retries, endpointLimits.retries);
  if (input.timeoutMs !== undefined && input.timeoutMs !== null)
    next.timeoutMs = parseRange("timeoutMs", input.timeoutMs, limits.timeoutMs);
  return next;
}

const WRITABLE = [
  ["name", "name", "text"],
  ["forward_urls", "forwardUrls", "text[]"],
  ["forward_method", "forwardMethod", "http_method"],
  ["forward_headers", "forwardHeaders", "jsonb"],
  ["ordered", "ordered", "boolean"],
  ["retries", "retries", "int4"],
  ["timeout_ms", "timeoutMs", "int4"],
  ["verification", "verification", "inbound_verification"],
  ["verification_secret", "verificationSecret", "text"],
  ["verification_header", "verificationHeader", "text"],
] as const;

function writableValues(columns: EndpointColumns): unknown[] {
  return WRITABLE.map(([, field, type]) => (type === "jsonb" ? JSON.stringify(columns[field]) : columns[field]));
}

export async function createInboundEndpoint(
  db: Queryable,
  organizationId: string,
  input: EndpointInput,
  options: { allowPrivateTargets: boolean },
): Promise<InboundEndpointRow> {
  if (input.name === undefined || input.name === null) throw validationError("name", "name is required");
  if (input.forwardUrls === undefined || input.forwardUrls === null) {
    throw validationError("forwardUrls", "forwardUrls is required (an empty list stores events without forwarding them)");
  }
  const columns = mergeEndpointInput(
    {
      name: "",
      forwardUrls: [],
      forwardMethod: null,
      forwardHeaders: {},
      ordered: false,
      retries: endpointLimits.retries.default,
      timeoutMs: limits.timeoutMs.default,
      verification: null,
      verificationSecret: null,
      verificationHeader: null,
    },
    input,
    options,
  );
  const { rows } = await db.query<InboundEndpointRow>(
    `INSERT INTO inbound_endpoints (id, organization_id, slug, ${WRITABLE.map(([column]) => column).join(", ")})
     VALUES ($${WRITABLE.length + 3}, $1, $2, ${WRITABLE.map(([, , type], index) => `$${index + 3}::${type}`).join(", ")})
     RETURNING ${ENDPOINT_COLUMNS}`,
    [organizationId, generateSlug(), ...writableValues(columns), uuidv7()],
  );
  return rows[0] as InboundEndpointRow;
}

export async function getInboundEndpoint(db: Queryable, organizationId: string, id: string): Promise<InboundEndpointRow> {
  const { rows } = await db.query<InboundEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM inbound_endpoints WHERE id = $1 AND organization_id = $2`,
    [asUuid(id, "endpoint"), organizationId],
  );
  if (!rows[0]) throw notFound("endpoint", id);
  return rows[0];
}

export async function updateInboundEndpoint(
  db: Queryable,
  organizationId: string,
  id: string,
  input: EndpointInput,
  options: { allowPrivateTargets: boolean },
): Promise<InboundEndpointRow> {
  const current = await getInboundEndpoint(db, organizationId, id);
  const columns = mergeEndpointInput(current as unknown as EndpointColumns, input, options);
  const { rows } = await db.query<InboundEndpointRow>(
    `UPDATE inbound_endpoints SET ${WRITABLE.map(([column, , type], index) => `${column} = $${index + 3}::${type}`).join(", ")},
       updated_at = now()
     WHERE id = $1 AND organization_id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [current.id, organizationId, ...writableValues(columns)],
  );
  if (!rows[0]) throw notFound("endpoint", id);
  return rows[0];
}

/** Deletes the endpoint and its events; forwards already made stay as tasks. Its URL answers 404 from now on. */
export async function deleteInboundEndpoint(db: Queryable, organizationId: string, id: string): Promise<InboundEndpointRow> {
  const { rows } = await db.query<InboundEndpointRow>(
    `DELETE FROM inbound_endpoints WHERE id = $1 AND organization_id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [asUuid(id, "endpoint"), organizationId],
  );
  if (!rows[0]) throw notFound("endpoint", id);
  return rows[0];
}
