/**
 * Retry policy: what happens after each HTTP attempt of a task.
 *
 * - **Success** is a 2xx response.
 * - **Retried** (the failure is likely transient): network errors (DNS failure,
 *   connection refused or reset), timeouts, 5xx, 408 Request Timeout,
 *   425 Too Early and 429 Too Many Requests.
 * - **Final** (retrying would get the same answer): 3xx, because redirects are
 *   not followed; every other 4xx; and a target refused at connect time because
 *   it resolved to a private address (TARGET_NOT_ALLOWED).
 * - A task with `retries: N` is attempted at most N + 1 times. When a retryable
 *   failure happens on the last attempt, the task fails with the reason
 *   `retries exhausted: <reason of the last failure>`.
 * - **Delay** before the next attempt, after attempt k (1-based) failed:
 *   exponential backoff with "equal jitter". With `ceiling = min(1 h, 1 s × 2^(k−1))`,
 *   the delay is uniformly random in `[ceiling / 2, ceiling)`: 0.5–1 s after the
 *   first attempt, 1–2 s after the second, 2–4 s, … up to 30–60 min. The jitter
 *   spreads out tasks that failed together (an outage) so they do not all return
 *   at once; the floor keeps a retry from firing immediately.
 * - **Retry-After**: when a retryable response carries a Retry-After header
 *   (seconds or an HTTP date), that delay replaces the backoff, clamped to
 *   between 0 and 1 h. An unparseable Retry-After is ignored.
 */
import type { DeliveryOutcome } from "../../worker/http-delivery.js";

export type AttemptVerdict =
  | { kind: "succeeded" }
  | { kind: "retry"; delayMs: number; reason: string }
  | { kind: "failed"; reason: string };

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60 * 60 * 1_000;
const RETRYABLE_CLIENT_ERRORS = new Set([408, 425, 429]);

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";
// The three HTTP-date forms of RFC 9110 §5.6.7; Date.parse alone accepts almost anything.
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

function clampDelay(ms: number): number {
  return Math.min(MAX_DELAY_MS, Math.max(0, ms));
}

/**
 * Parses a Retry-After header (delay in seconds, or an HTTP date) into
 * milliseconds from `now`, clamped to [0, 1 h]. Returns null when the header is
 * absent or not in either form.
 */
export function parseRetryAfter(value: string | undefined | null, now: Date): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return clampDelay(Number(trimmed) * 1_000);

  let date: number;
  if (IMF_FIXDATE.test(trimmed) || RFC850_DATE.test(trimmed)) {
    date = Date.parse(trimmed);
  } else if (ASCTIME_DATE.test(trimmed)) {
    // asctime has no zone, and HTTP dates are always GMT.
    date = Date.parse(`${trimmed} GMT`);
  } else {
    return null;
  }
  return Number.isNaN(date) ? null : clampDelay(date - now.getTime());
}

/**
 * The delay before the next attempt after attempt `attempt` (1-based) failed:
 * uniformly random in [ceiling / 2, ceiling) with ceiling = min(1 h, 1 s × 2^(attempt − 1)).
 * `random` returns a number in [0, 1); inject a seeded one in tests.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a whole number of at least 1, got ${attempt}`);
  }
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

function failureReason(outcome: Exclude<DeliveryOutcome, { kind: "response" }>): string {
  switch (outcome.kind) {
    case "timeout":
      return outcome.error;
    case "network-error":
      return outcome.code && !outcome.error.includes(outcome.code)
        ? `network error (${outcome.code}): ${outcome.error}`
        : `network error: ${outcome.error}`;
    case "target-not-allowed":
      return `target not allowed: ${outcome.error}`;
  }
}

/**
 * Judges one attempt's outcome. `attempt` is the 1-based number of the attempt
 * that produced it; `retries` is how many retries the task allows after its
 * first attempt.
 */
export function decideAfterAttempt(
  outcome: DeliveryOutcome,
  context: { attempt: number; retries: number; now: Date; random?: () => number },
): AttemptVerdict {
  let reason: string;
  let retryAfterMs: number | null = null;

  if (outcome.kind === "response") {
    const { status } = outcome;
    if (status >= 200 && status < 300) return { kind: "succeeded" };
    reason = `HTTP ${status}`;
    if (status >= 300 && status < 400) {
      return { kind: "failed", reason: `${reason}: redirects are not followed, so a 3xx is final` };
    }
    if (status < 500 && !RETRYABLE_CLIENT_ERRORS.has(status)) {
      return { kind: "failed", reason: `${reason}: only 408, 425, 429 and 5xx responses are retried` };
    }
    retryAfterMs = parseRetryAfter(outcome.headers["retry-after"], context.now);
  } else {
    reason = failureReason(outcome);
    if (outcome.kind === "target-not-allowed") return { kind: "failed", reason };
  }

  if (context.attempt > context.retries) {
    return { kind: "failed", reason: `retries exhausted: ${reason}` };
  }
  const delayMs = retryAfterMs ?? backoffDelayMs(context.attempt, context.random);
  return { kind: "retry", delayMs, reason };
}
