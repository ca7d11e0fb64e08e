/**
 * Request signing: every outgoing request carries a `Runlater-Signature` header
 * so its receiver can tell it came from Runlater and was not altered or replayed.
 *
 *     Runlater-Signature: t=1718000000,v1=5257a869e7ecebed…[,v1=…]
 *
 * `t` is the Unix time in seconds when the request was signed; each `v1` is the
 * hex HMAC-SHA256 of `${t}.` followed by the body's bytes, under one signing secret. During a secret
 * rotation there are two `v1` values, the current secret's first, so receivers
 * holding either secret keep verifying.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE_VERSION = "v1";

/** A body as sent: text (its UTF-8 bytes) or bytes. */
type RawBody = string | Uint8Array;

function computeSignature(secret: string, timestampSeconds: number, rawBody: RawBody): string {
  const hmac = createHmac("sha256", secret).update(`${timestampSeconds}.`, "utf8");
  return (typeof rawBody === "string" ? hmac.update(rawBody, "utf8") : hmac.update(rawBody)).digest("hex");
}

/** Builds the `Runlater-Signature` value: one `v1` per secret, current secret first. */
export function signatureHeader(secrets: string[], timestampSeconds: number, rawBody: RawBody): string {
  if (secrets.length === 0) {
    throw new RangeError("signatureHeader needs at least one secret");
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestampSeconds must be a whole number of seconds since the epoch, got ${timestampSeconds}`);
  }
  const signatures = secrets.map((secret) => `${SIGNATURE_VERSION}=${computeSignature(secret, timestampSeconds, rawBody)}`);
  return [`t=${timestampSeconds}`, ...signatures].join(",");
}

/**
 * Verifies a `Runlater-Signature` header — what a receiver of Runlater's
 * requests writes. The recipe, in any language:
 *
 * 1. Read the raw request body exactly as received, before any JSON parsing:
 *    re-serialising changes bytes and breaks the signature.
 * 2. Split the header on `,` and each part on the first `=`. Take `t` (the
 *    timestamp) and every `v1` (there are two while a secret is being rotated).
 * 3. Compute HMAC-SHA256 with your signing secret over `${t}.` followed by the
 *    body's bytes (for a text body: the string `${t}.${rawBody}`) and hex-encode it.
 * 4. Compare it with each `v1` in constant time (`crypto.timingSafeEqual`,
 *    `hmac.compare_digest`, …); the request is authentic if any one matches.
 * 5. Reject it when `t` is more than 5 minutes from your clock, so a captured
 *    request cannot be replayed later.
 *
 * Returns false, never throws, for a malformed header.
 */
export function verifySignature(
  header: string,
  secret: string,
  rawBody: RawBody,
  options: { toleranceSeconds?: number; now?: Date } = {},
): boolean {
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);

  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const separator = part.indexOf("=");
    if (separator === -1) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === "t" && /^\d+$/.test(value)) timestamp = Number(value);
    if (key === SIGNATURE_VERSION) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;

  const expected = Buffer.from(computeSignature(secret, timestamp, rawBody), "utf8");
  return candidates.some((candidate) => {
    const actual = Buffer.from(candidate, "utf8");
    // timingSafeEqual needs equal lengths; the length of a signature is no secret.
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
}
