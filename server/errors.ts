/**
 * Domain errors: the only errors whose message reaches a client.
 *
 * Each carries a stable `code`, the HTTP status REST answers with, and the
 * input field at fault when there is one. GraphQL puts the same code and field
 * in `extensions`; REST answers `{ "error": { code, message, field } }`.
 * Anything else thrown is unexpected: masked to the client, logged in full.
 */
export const errorStatus = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  /** A cookie-authenticated request without the matching X-CSRF-Token header. */
  CSRF: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION_FAILED: 422,
  TARGET_NOT_ALLOWED: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** For TOO_MANY_REQUESTS: when to try again (sent as Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function validationError(field: string, message: string): DomainError {
  return new DomainError("VALIDATION_FAILED", message, { field });
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError("NOT_FOUND", `${what} ${id} was not found`);
}
