import { describe, expect, it } from "vitest";
import { backoffDelayMs, decideAfterAttempt, parseRetryAfter } from "../../server/services/retry-policy.js";
import type { DeliveryOutcome } from "../../worker/http-delivery.js";

const now = new Date("2025-06-01T12:00:00Z");
const HOUR_MS = 3_600_000;

/** mulberry32: a small seeded PRNG, so jitter tests are reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function response(status: number, headers: Record<string, string> = {}): DeliveryOutcome {
  return { kind: "response", status, headers, body: "", bodyTruncated: false, durationMs: 12 };
}

const firstOfThree = { attempt: 1, retries: 3, now, random: () => 0.5 };

describe("parseRetryAfter", () => {
  it.each([
    ["120", 120_000],
    [" 7 ", 7_000],
    ["0", 0],
    ["86400", HOUR_MS],
    ["Sun, 01 Jun 2025 12:00:30 GMT", 30_000],
    ["Sunday, 01-Jun-25 12:01:00 GMT", 60_000],
    ["Sun Jun  1 12:00:10 2025", 10_000],
    ["Sat, 31 May 2025 12:00:00 GMT", 0],
    ["Mon, 02 Jun 2025 12:00:00 GMT", HOUR_MS],
  ])("reads %j as %d ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([undefined, null, "", "soon", "-5", "1.5", "5 apples", "hello 1", "2025-06-01T12:00:30Z", "Sun, 01 Jun 2025"])(
    "ignores %j",
    (value) => {
      expect(parseRetryAfter(value, now)).toBeNull();
    },
  );
});

describe("backoffDelayMs", () => {
  it("doubles from 1 s with equal jitter: [ceiling/2, ceiling)", () => {
    expect(backoffDelayMs(1, () => 0)).toBe(500);
    expect(backoffDelayMs(1, () => 0.999_999)).toBe(999);
    expect(backoffDelayMs(2, () => 0)).toBe(1_000);
    expect(backoffDelayMs(5, () => 0.5)).toBe(12_000);
  });

  it("is capped at 1 h however many attempts failed", () => {
    expect(backoffDelayMs(13, () => 0)).toBe(HOUR_MS / 2);
    expect(backoffDelayMs(10_000, () => 0.999_999)).toBeLessThan(HOUR_MS);
  });

  it("stays within its bounds and is never 0, for a seeded random sequence", () => {
    const random = seededRandom(42);
    for (let attempt = 1; attempt <= 20; attempt++) {
      const ceiling = Math.min(HOUR_MS, 1_000 * 2 ** (attempt - 1));
      for (let sample = 0; sample < 200; sample++) {
        const delay = backoffDelayMs(attempt, random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it("spreads delays out (jitter) instead of returning one value", () => {
    const random = seededRandom(7);
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(6, random)));
    expect(delays.size).toBeGreaterThan(40);
  });

  it("rejects an attempt number below 1", () => {
    expect(() => backoffDelayMs(0)).toThrow(/attempt must be a whole number of at least 1/);
  });
});

describe("decideAfterAttempt", () => {
  it.each([200, 201, 204, 299])("HTTP %i succeeds", (status) => {
    expect(decideAfterAttempt(response(status), firstOfThree)).toEqual({ kind: "succeeded" });
  });

  it.each([500, 502, 503, 504, 599, 408, 425, 429])("HTTP %i is retried after the backoff", (status) => {
    expect(decideAfterAttempt(response(status), firstOfThree)).toEqual({
      kind: "retry",
      delayMs: 750,
      reason: `HTTP ${status}`,
    });
  });

  it.each([400, 401, 403, 404, 409, 410, 413, 422])("HTTP %i is final", (status) => {
    expect(decideAfterAttempt(response(status), firstOfThree)).toEqual({
      kind: "failed",
      reason: `HTTP ${status}: only 408, 425, 429 and 5xx responses are retried`,
    });
  });

  it.each([301, 302, 303, 307, 308])("HTTP %i is final because redirects are not followed", (status) => {
    expect(decideAfterAttempt(response(status, { location: "https://elsewhere.example/" }), firstOfThree)).toEqual({
      kind: "failed",
      reason: `HTTP ${status}: redirects are not followed, so a 3xx is final`,
    });
  });

  it("retries timeouts and network errors", () => {
    expect(decideAfterAttempt({ kind: "timeout", durationMs: 5_000, error: "timed out after 5000 ms" }, firstOfThree)).toEqual({
      kind: "retry",
      delayMs: 750,
      reason: "timed out after 5000 ms",
    });
    expect(
      decideAfterAttempt(
        { kind: "network-error", durationMs: 3, error: "connect ECONNREFUSED 127.0.0.1:9", code: "ECONNREFUSED" },
        firstOfThree,
      ),
    ).toEqual({ kind: "retry", delayMs: 750, reason: "network error: connect ECONNREFUSED 127.0.0.1:9" });
    expect(
      decideAfterAttempt({ kind: "network-error", durationMs: 3, error: "other side closed", code: "UND_ERR_SOCKET" }, firstOfThree),
    ).toMatchObject({ kind: "retry", reason: "network error (UND_ERR_SOCKET): other side closed" });
  });

  it("does not retry a target refused at connect time", () => {
    const outcome: DeliveryOutcome = {
      kind: "target-not-allowed",
      durationMs: 1,
      error: "localhost resolves to 127.0.0.1",
    };
    expect(decideAfterAttempt(outcome, firstOfThree)).toEqual({
      kind: "failed",
      reason: "target not allowed: localhost resolves to 127.0.0.1",
    });
  });

  it("uses Retry-After, in seconds or as a date, instead of the backoff", () => {
    expect(decideAfterAttempt(response(429, { "retry-after": "30" }), firstOfThree)).toEqual({
      kind: "retry",
      delayMs: 30_000,
      reason: "HTTP 429",
    });
    expect(decideAfterAttempt(response(503, { "retry-after": "Sun, 01 Jun 2025 12:02:00 GMT" }), firstOfThree)).toMatchObject({
      kind: "retry",
      delayMs: 120_000,
    });
    expect(decideAfterAttempt(response(503, { "retry-after": "0" }), firstOfThree)).toMatchObject({ delayMs: 0 });
  });

  it("caps Retry-After at 1 h and ignores an unparseable one", () => {
    expect(decideAfterAttempt(response(429, { "retry-after": "999999" }), firstOfThree)).toMatchObject({
      delayMs: HOUR_MS,
    });
    expect(decideAfterAttempt(response(429, { "retry-after": "later" }), firstOfThree)).toMatchObject({
      delayMs: 750,
    });
  });

  it("does not let Retry-After turn a final status into a retry", () => {
    expect(decideAfterAttempt(response(403, { "retry-after": "10" }), firstOfThree)).toMatchObject({ kind: "failed" });
  });

  it("grows the delay with the attempt number", () => {
    const delays = [1, 2, 3, 4].map(
      (attempt) => (decideAfterAttempt(response(500), { ...firstOfThree, attempt, retries: 10 }) as { delayMs: number }).delayMs,
    );
    expect(delays).toEqual([750, 1_500, 3_000, 6_000]);
  });

  it("fails with the last reason once retries are exhausted (attempts <= retries + 1)", () => {
    expect(decideAfterAttempt(response(503), { ...firstOfThree, attempt: 3, retries: 3 })).toMatchObject({
      kind: "retry",
    });
    expect(decideAfterAttempt(response(503), { ...firstOfThree, attempt: 4, retries: 3 })).toEqual({
      kind: "failed",
      reason: "retries exhausted: HTTP 503",
    });
    expect(
      decideAfterAttempt(
        { kind: "timeout", durationMs: 1_000, error: "timed out after 1000 ms" },
        {
          ...firstOfThree,
          retries: 0,
        },
      ),
    ).toEqual({ kind: "failed", reason: "retries exhausted: timed out after 1000 ms" });
  });

  it("reports success even on the last allowed attempt", () => {
    expect(decideAfterAttempt(response(200), { ...firstOfThree, attempt: 4, retries: 3 })).toEqual({
      kind: "succeeded",
    });
  });
});
