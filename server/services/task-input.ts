/**
 * Validation of the push fields shared by GraphQL, REST and (later) batch push.
 * Turns untrusted input into a TaskSpec or throws a DomainError naming the field.
 */
import { z } from "zod";
import { DomainError, validationError } from "../errors.js";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const limits = {
  maxBodyBytes: 256 * 1024,
  maxDelayMs: 365 * 24 * 3_600_000,
  maxHeaders: 50,
  maxHeaderValueLength: 8 * 1024,
  retries: { min: 0, max: 20, default: 3 },
  timeoutMs: { min: 1000, max: 300_000, default: 30_000 },
  maxUrlLength: 4096,
  maxNameLength: 200,
  maxQueueNameLength: 100,
  maxIdempotencyKeyLength: 255,
} as const;

/** Headers Runlater sets itself, or that would corrupt the request if a user set them. */
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface TaskSpec {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  /** The exact bytes to send (as UTF-8 text), or null for no body. */
  body: string | null;
  bodyEncoding: "JSON" | "RAW" | null;
  runAt: Date;
  retries: number;
  timeoutMs: number;
  name: string | null;
  queue: string | null;
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// RFC 3339 / ISO 8601 date-time with an explicit offset: a time without a zone is ambiguous.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Parses "30s", "5m", "2h", "1d", "250ms" or a number of seconds into milliseconds. */
export function parseDelay(value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw validationError("delay", "delay must be a non-negative number of seconds");
    return Math.round(value * 1000);
  }
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
    const match = DURATION.exec(trimmed);
    if (match) return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  throw validationError("delay", 'delay must be a duration like "30s", "5m", "2h", "1d" or a number of seconds');
}

const pushFieldsSchema = z.object({
  url: z.string({ message: "url is required and must be a string" }).min(1, "url is required").max(limits.maxUrlLength),
  method: z
    .string()
    .transform((value) => value.toUpperCase())
    .pipe(z.enum(HTTP_METHODS, { message: `method must be one of ${HTTP_METHODS.join(", ")}` }))
    .optional(),
  headers: z.record(z.string(), z.unknown(), { message: "headers must be an object of header names to string values" }).optional(),
  body: z.unknown().optional(),
  delay: z.unknown().optional(),
  runAt: z.unknown().optional(),
  retries: z
    .number({ message: "retries must be a whole number" })
    .int("retries must be a whole number")
    .min(limits.retries.min, `retries must be between ${limits.retries.min} and ${limits.retries.max}`)
    .max(limits.retries.max, `retries must be between ${limits.retries.min} and ${limits.retries.max}`)
    .optional(),
  timeoutMs: z
    .number({ message: "timeoutMs must be a whole number of milliseconds" })
    .int("timeoutMs must be a whole number of milliseconds")
    .min(limits.timeoutMs.min, `timeoutMs must be between ${limits.timeoutMs.min} and ${limits.timeoutMs.max}`)
    .max(limits.timeoutMs.max, `timeoutMs must be between ${limits.timeoutMs.min} and ${limits.timeoutMs.max}`)
    .optional(),
  name: z
    .string()
    .trim()
    .min(1, "name must not be empty")
    .max(limits.maxNameLength, `name must be at most ${limits.maxNameLength} characters`)
    .optional(),
  queue: z
    .string()
    .max(limits.maxQueueNameLength, `queue must be at most ${limits.maxQueueNameLength} characters`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "queue may contain letters, digits, '.', '_', ':' and '-', starting with a letter or digit")
    .optional(),
});

export type PushFields = z.input<typeof pushFieldsSchema>;

/** Null means "not given" for every optional push field (GraphQL passes explicit nulls). */
function withoutNulls(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
}

export function parsePushFields(input: Record<string, unknown>, now: Date): TaskSpec {
  const parsed = pushFieldsSchema.safeParse(withoutNulls(input));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw validationError(String(issue?.path[0] ?? "input"), issue?.message ?? "invalid input");
  }
  const fields = parsed.data;
  const { body, bodyEncoding } = encodeBody(fields.body);
  return {
    url: fields.url,
    method: fields.method ?? "POST",
    headers: parseHeaders(fields.headers),
    body,
    bodyEncoding,
    runAt: parseRunAt(fields.delay, fields.runAt, now),
    retries: fields.retries ?? limits.retries.default,
    timeoutMs: fields.timeoutMs ?? limits.timeoutMs.default,
    name: fields.name ?? null,
    queue: fields.queue ?? null,
  };
}

function encodeBody(body: unknown): Pick<TaskSpec, "body" | "bodyEncoding"> {
  if (body === undefined) return { body: null, bodyEncoding: null };
  const encoded =
    typeof body === "string" ? { body, bodyEncoding: "RAW" as const } : { body: JSON.stringify(body), bodyEncoding: "JSON" as const };
  const bytes = Buffer.byteLength(encoded.body, "utf8");
  if (bytes > limits.maxBodyBytes) {
    throw new DomainError("PAYLOAD_TOO_LARGE", `body is ${bytes} bytes; the limit is ${limits.maxBodyBytes} bytes (256 KiB)`, {
      field: "body",
    });
  }
  return encoded;
}

function parseHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  if (!headers) return {};
  const entries = Object.entries(headers);
  if (entries.length > limits.maxHeaders) {
    throw validationError("headers", `at most ${limits.maxHeaders} headers are allowed; got ${entries.length}`);
  }
  const result: Record<string, string> = {};
  for (const [name, value] of entries) {
    const field = `headers.${name}`;
    if (!HEADER_NAME.test(name)) throw validationError(field, `"${name}" is not a valid header name`);
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw validationError(field, `header "${name}" is set by Runlater and cannot be overridden`);
    if (lower.startsWith("runlater-"))
      throw validationError(field, `headers starting with "Runlater-" are reserved for Runlater's own metadata`);
    if (typeof value !== "string") throw validationError(field, `header "${name}" must have a string value`);
    if (/[\r\n\0]/.test(value)) throw validationError(field, `header "${name}" must not contain line breaks or NUL`);
    if (value.length > limits.maxHeaderValueLength) {
      throw validationError(field, `header "${name}" is longer than ${limits.maxHeaderValueLength} characters`);
    }
    result[name] = value;
  }
  return result;
}

function parseRunAt(delay: unknown, runAt: unknown, now: Date): Date {
  if (delay !== undefined && runAt !== undefined) {
    throw validationError("runAt", "give either delay or runAt, not both");
  }
  let due = now;
  if (delay !== undefined) {
    const delayMs = parseDelay(delay);
    if (delayMs > limits.maxDelayMs) throw validationError("delay", "delay must be at most 365 days");
    due = new Date(now.getTime() + delayMs);
  } else if (runAt !== undefined) {
    const parsed = typeof runAt === "string" && ISO_DATE_TIME.test(runAt.trim()) ? new Date(runAt.trim()) : null;
    if (!parsed || Number.isNaN(parsed.getTime())) {
      throw validationError("runAt", 'runAt must be an ISO 8601 date-time with a time zone, like "2026-12-01T09:00:00Z"');
    }
    if (parsed.getTime() - now.getTime() > limits.maxDelayMs) throw validationError("runAt", "runAt must be at most 365 days from now");
    // A time already past means "as soon as possible", as with a zero delay.
    due = parsed.getTime() < now.getTime() ? now : parsed;
  }
  return due;
}
