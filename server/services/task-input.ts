/**
 * Validation of the push fields shared by GraphQL, REST and (later) batch push.
 * Turns untrusted input into a TaskSpec or throws a DomainError naming the field.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { DomainError, validationError } from "../errors.js";
import { CATCH_UP_POLICIES, type CronTaskSchedule, OVERLAP_POLICIES, parseCronTaskFields } from "./cron-schedule.js";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const CALLBACK_ON = ["EVERY_ATTEMPT", "FINAL"] as const;
export type CallbackOn = (typeof CALLBACK_ON)[number];

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
  priority: { min: -1000, max: 1000, default: 0 },
  /** debounceKey and throttleKey. */
  maxPolicyKeyLength: 255,
  /** dedupeWindow, debounceWindow and throttleWindow. */
  maxPolicyWindowMs: 7 * 86_400_000,
  defaultDedupeWindowMs: 10 * 60_000,
} as const;

/** Headers Runlater sets itself, or that would corrupt the request if a user set them. */
export const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** How a task's stored body becomes the bytes it sends (the Prisma enum BodyEncoding). */
export type BodyEncoding = "JSON" | "RAW" | "BASE64";

export interface TaskSpec {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  /** The body to send: UTF-8 text for JSON and RAW, the bytes in base64 for BASE64; null for no body. */
  body: string | null;
  bodyEncoding: BodyEncoding | null;
  runAt: Date;
  retries: number;
  timeoutMs: number;
  name: string | null;
  queue: string | null;
  /** Higher first among the due attempts of its queue; default 0. */
  priority?: number;
  /** `dedupe: true`: the hash of the request's content, and how far back an identical push is looked for. */
  dedupe?: { hash: string; windowMs: number } | null;
  /** Last push wins: a pending task with this key takes this push's request and runs `windowMs` after it. */
  debounce?: { key: string; windowMs: number } | null;
  /** At most one task per key per window: a push within `windowMs` of the key's last task returns that task. */
  throttle?: { key: string; windowMs: number } | null;
  /** Recurring tasks: the cron schedule and its policies (cron-schedule.ts); null for one-off tasks. */
  schedule?: CronTaskSchedule | null;
  /** Where a summary of each attempt (or only the final one) is POSTed; see services/callbacks.ts. */
  callbackUrl?: string | null;
  /** Set whenever callbackUrl is: FINAL unless given. */
  callbackOn?: CallbackOn | null;
  /** Called once when the task ends FAILED. */
  onFailureUrl?: string | null;
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// RFC 3339 / ISO 8601 date-time with an explicit offset: a time without a zone is ambiguous.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
// Its date part, checked against the calendar (month lengths, leap years): V8 rolls "2027-02-29" over to 1 March.
const CALENDAR_DATE = z.iso.date();

/**
 * An ISO 8601 date-time with a time zone, strictly: a date that does not exist ("2026-09-31…") is refused, not moved
 * to the next month. Null when `value` is not one.
 */
export function parseIsoDateTime(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (!ISO_DATE_TIME.test(text) || !CALENDAR_DATE.safeParse(text.slice(0, 10)).success) return null;
  const parsed = new Date(text);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

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

function policyKey(field: string) {
  return z
    .string({ message: `${field} must be a string` })
    .trim()
    .min(1, `${field} must not be empty`)
    .max(limits.maxPolicyKeyLength, `${field} must be at most ${limits.maxPolicyKeyLength} characters`)
    .optional();
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
  bodyBase64: z.string({ message: "bodyBase64 must be a string of base64" }).optional(),
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
  priority: z
    .number({ message: "priority must be a whole number" })
    .int("priority must be a whole number")
    .min(limits.priority.min, `priority must be between ${limits.priority.min} and ${limits.priority.max}`)
    .max(limits.priority.max, `priority must be between ${limits.priority.min} and ${limits.priority.max}`)
    .optional(),
  dedupe: z.boolean({ message: "dedupe must be true or false" }).optional(),
  dedupeWindow: z.unknown().optional(),
  debounceKey: policyKey("debounceKey"),
  debounceWindow: z.unknown().optional(),
  throttleKey: policyKey("throttleKey"),
  throttleWindow: z.unknown().optional(),
  cron: z.string({ message: "cron must be a string" }).optional(),
  timezone: z.string({ message: "timezone must be a string" }).optional(),
  catchUp: z.enum(CATCH_UP_POLICIES, { message: `catchUp must be one of ${CATCH_UP_POLICIES.join(", ")}` }).optional(),
  overlap: z.enum(OVERLAP_POLICIES, { message: `overlap must be one of ${OVERLAP_POLICIES.join(", ")}` }).optional(),
  callbackUrl: z
    .string({ message: "callbackUrl must be a string" })
    .min(1, "callbackUrl must not be empty")
    .max(limits.maxUrlLength)
    .optional(),
  callbackOn: z.enum(CALLBACK_ON, { message: `callbackOn must be one of ${CALLBACK_ON.join(", ")}` }).optional(),
  onFailureUrl: z
    .string({ message: "onFailureUrl must be a string" })
    .min(1, "onFailureUrl must not be empty")
    .max(limits.maxUrlLength)
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
  if (fields.cron !== undefined) {
    // A recurring task is one task: deduplicating or debouncing its pushes would silently drop schedules.
    const policy = (["dedupe", "debounceKey", "throttleKey"] as const).find((name) => fields[name] !== undefined && fields[name] !== false);
    if (policy) throw validationError(policy, `${policy} cannot be combined with cron`);
  }
  const { body, bodyEncoding } = encodeBody(fields.body, fields.bodyBase64);
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
    priority: fields.priority ?? limits.priority.default,
    ...parsePushPolicies(fields, now),
    schedule: parseCronTaskFields(fields),
    ...parseCallbackFields(fields),
  };
}

function parseCallbackFields(fields: { callbackUrl?: string; callbackOn?: CallbackOn; onFailureUrl?: string }) {
  if (fields.callbackOn !== undefined && fields.callbackUrl === undefined) {
    throw validationError("callbackOn", "callbackOn needs a callbackUrl to call");
  }
  return {
    callbackUrl: fields.callbackUrl ?? null,
    callbackOn: fields.callbackUrl === undefined ? null : (fields.callbackOn ?? "FINAL"),
    onFailureUrl: fields.onFailureUrl ?? null,
  };
}

function encodeBody(body: unknown, bodyBase64: string | undefined): Pick<TaskSpec, "body" | "bodyEncoding"> {
  if (bodyBase64 !== undefined) {
    if (body !== undefined) throw validationError("bodyBase64", "give body or bodyBase64, not both");
    const bytes = decodeBase64Body(bodyBase64);
    // Stored in canonical form (padded, no line breaks), so equal bytes compare and deduplicate equal.
    return { body: bytes.toString("base64"), bodyEncoding: "BASE64" };
  }
  if (body === undefined) return { body: null, bodyEncoding: null };
  // PostgreSQL text cannot hold U+0000; in a JSON body it is escaped (\u0000) and harmless.
  if (typeof body === "string" && body.includes("\u0000")) {
    throw validationError("body", "a text body cannot contain the NUL character (U+0000)");
  }
  const encoded =
    typeof body === "string" ? { body, bodyEncoding: "RAW" as const } : { body: JSON.stringify(body), bodyEncoding: "JSON" as const };
  refuseLargeBody("body", Buffer.byteLength(encoded.body, "utf8"));
  return encoded;
}

function refuseLargeBody(field: string, bytes: number): void {
  if (bytes > limits.maxBodyBytes) {
    throw new DomainError("PAYLOAD_TOO_LARGE", `${field} is ${bytes} bytes; the limit is ${limits.maxBodyBytes} bytes (256 KiB)`, {
      field,
    });
  }
}

// Standard or URL-safe alphabet, padding optional; line breaks (as `base64` wraps its output) are ignored. Checked
// without backtracking: a pattern of 4-character groups ran out of stack on a few megabytes (a 500, not a 413).
const BASE64_ALPHABET = /^[A-Za-z0-9+/_-]*$/;

/** The bytes of a bodyBase64, refusing what is not base64 (Buffer.from alone skips characters it does not know). */
function decodeBase64Body(text: string): Buffer {
  const compact = text.replace(/[\r\n\t ]/g, "");
  const data = compact.replace(/={1,2}$/, "");
  // The decoded size follows from the length: a body too large is refused before it is read.
  refuseLargeBody("bodyBase64", Math.floor((data.length * 3) / 4));
  const padded = data.length < compact.length;
  // One character past a group of four encodes no whole byte; padding completes the last group exactly.
  const wellFormed = BASE64_ALPHABET.test(data) && data.length % 4 !== 1 && (!padded || compact.length % 4 === 0);
  if (!wellFormed) throw validationError("bodyBase64", "bodyBase64 is not valid base64");
  return Buffer.from(compact, "base64");
}

/** Validates request headers given by a user; errors name `${field}.<header>`. */
export function parseHeaders(headers: Record<string, unknown> | undefined, field = "headers"): Record<string, string> {
  if (!headers) return {};
  const entries = Object.entries(headers);
  if (entries.length > limits.maxHeaders) {
    throw validationError(field, `at most ${limits.maxHeaders} headers are allowed; got ${entries.length}`);
  }
  const result: Record<string, string> = {};
  const names = new Set<string>();
  for (const [name, value] of entries) {
    const headerField = `${field}.${name}`;
    if (!HEADER_NAME.test(name)) throw validationError(headerField, `"${name}" is not a valid header name`);
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw validationError(headerField, `header "${name}" is set by Runlater and cannot be overridden`);
    if (lower.startsWith("runlater-"))
      throw validationError(headerField, `headers starting with "Runlater-" are reserved for Runlater's own metadata`);
    // The HTTP client refuses it at send time: every attempt would fail the same way.
    if (lower === "expect") throw validationError(headerField, `header "${name}" is not supported: requests are sent whole`);
    if (names.has(lower)) throw validationError(headerField, `header "${name}" is given twice (header names ignore case)`);
    names.add(lower);
    if (typeof value !== "string") throw validationError(headerField, `header "${name}" must have a string value`);
    if (/[\r\n\0]/.test(value)) throw validationError(headerField, `header "${name}" must not contain line breaks or NUL`);
    // What an HTTP header can carry (RFC 9110 field values; the HTTP client refuses anything else when it sends).
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      throw validationError(
        headerField,
        `header "${name}" may hold only printable ASCII, spaces, tabs and Latin-1 characters; encode other text (percent-encoding, RFC 8187)`,
      );
    }
    if (value.length > limits.maxHeaderValueLength) {
      throw validationError(headerField, `header "${name}" is longer than ${limits.maxHeaderValueLength} characters`);
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
    const parsed = typeof runAt === "string" ? parseIsoDateTime(runAt) : null;
    if (!parsed) {
      throw validationError("runAt", 'runAt must be an ISO 8601 date-time with a time zone, like "2026-12-01T09:00:00Z"');
    }
    if (parsed.getTime() - now.getTime() > limits.maxDelayMs) throw validationError("runAt", "runAt must be at most 365 days from now");
    // A time already past means "as soon as possible", as with a zero delay.
    due = parsed.getTime() < now.getTime() ? now : parsed;
  }
  return due;
}

type PolicyFields = Pick<z.output<typeof pushFieldsSchema>, "url" | "method" | "body" | "bodyBase64" | "delay" | "runAt"> & {
  dedupe?: boolean;
  dedupeWindow?: unknown;
  debounceKey?: string;
  debounceWindow?: unknown;
  throttleKey?: string;
  throttleWindow?: unknown;
};

/**
 * dedupe, debounceKey and throttleKey, each with its window. A push takes at
 * most one of them: their combinations would have no obvious meaning.
 */
function parsePushPolicies(fields: PolicyFields, now: Date): Partial<Pick<TaskSpec, "dedupe" | "debounce" | "throttle" | "runAt">> {
  const chosen = [
    fields.dedupe === true && "dedupe",
    fields.debounceKey !== undefined && "debounceKey",
    fields.throttleKey !== undefined && "throttleKey",
  ];
  const given = chosen.filter((name): name is string => typeof name === "string");
  if (given.length > 1)
    throw validationError(given[1] as string, `give at most one of dedupe, debounceKey and throttleKey; got ${given.join(" and ")}`);
  if (fields.dedupeWindow !== undefined && fields.dedupe !== true) throw validationError("dedupeWindow", "dedupeWindow needs dedupe: true");
  if (fields.debounceWindow !== undefined && fields.debounceKey === undefined) {
    throw validationError("debounceWindow", "debounceWindow needs a debounceKey");
  }
  if (fields.throttleWindow !== undefined && fields.throttleKey === undefined) {
    throw validationError("throttleWindow", "throttleWindow needs a throttleKey");
  }
  if (fields.dedupe === true) {
    const windowMs = fields.dedupeWindow === undefined ? limits.defaultDedupeWindowMs : parseWindow("dedupeWindow", fields.dedupeWindow);
    return { dedupe: { hash: contentHash(fields.method ?? "POST", fields.url, fields.body, fields.bodyBase64), windowMs } };
  }
  if (fields.debounceKey !== undefined) {
    if (fields.delay !== undefined || fields.runAt !== undefined) {
      throw validationError(
        fields.delay !== undefined ? "delay" : "runAt",
        "a debounced task runs debounceWindow after its last push: give no delay or runAt",
      );
    }
    const windowMs = parseWindow("debounceWindow", requiredWindow("debounceWindow", "debounceKey", fields.debounceWindow));
    return { debounce: { key: fields.debounceKey, windowMs }, runAt: new Date(now.getTime() + windowMs) };
  }
  if (fields.throttleKey !== undefined) {
    const windowMs = parseWindow("throttleWindow", requiredWindow("throttleWindow", "throttleKey", fields.throttleWindow));
    return { throttle: { key: fields.throttleKey, windowMs } };
  }
  return {};
}

function requiredWindow(field: string, keyField: string, value: unknown): unknown {
  if (value === undefined) throw validationError(field, `${field} is required with ${keyField} (a duration like "30s" or "5m")`);
  return value;
}

function parseWindow(field: string, value: unknown): number {
  const bound = `a duration like "30s", "10m" or "1h" (or seconds), more than 0 and at most ${limits.maxPolicyWindowMs / 86_400_000} days`;
  let windowMs: number;
  try {
    windowMs = parseDelay(value);
  } catch {
    throw validationError(field, `${field} must be ${bound}`);
  }
  if (windowMs <= 0 || windowMs > limits.maxPolicyWindowMs) throw validationError(field, `${field} must be ${bound}`);
  return windowMs;
}

/**
 * What `dedupe` compares: SHA-256 over method, URL and body. Headers are left
 * out (a trace id or timestamp header would defeat it). JSON bodies are
 * compared by value, with object keys in sorted order; string bodies byte for byte.
 */
export function contentHash(method: string, url: string, body: unknown, bodyBase64?: string): string {
  const content =
    bodyBase64 !== undefined
      ? { base64: decodeBase64Body(bodyBase64).toString("base64") }
      : body === undefined
        ? null
        : typeof body === "string"
          ? { raw: body }
          : { json: canonicalJson(body) };
  return createHash("sha256")
    .update(JSON.stringify([method, url, content]))
    .digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
