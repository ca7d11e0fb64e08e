/**
 * Verification of an inbound webhook's signature by its sender's scheme,
 * before the event is accepted. Each check is a pure function of the
 * headers, the raw body, the endpoint's secret and the clock, and answers why
 * it failed (stored on the REJECTED event) rather than throwing.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const INBOUND_VERIFICATIONS = ["STRIPE", "GITHUB", "HMAC"] as const;
export type InboundVerification = (typeof INBOUND_VERIFICATIONS)[number];

/** Stripe's default: a signature older (or newer) than this is a replay. */
export const STRIPE_TOLERANCE_SECONDS = 300;

export interface VerificationSettings {
  kind: InboundVerification;
  secret: string;
  /** HMAC only: the header carrying the signature (any case). */
  header: string | null;
}

export type VerificationResult = { valid: true } | { valid: false; reason: string };

/** Headers as node gives them: lower-case names. */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

function headerValue(headers: IncomingHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}

function hmacSha256(secret: string, payload: Buffer | string): Buffer {
  return createHmac("sha256", secret).update(payload).digest();
}

function sameBytes(expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A signature given as hex or base64 (standard or URL-safe), decoded; null when it is neither. */
function decodeSignature(text: string): Buffer[] {
  const candidates: Buffer[] = [];
  if (/^[0-9a-f]+$/i.test(text) && text.length % 2 === 0) candidates.push(Buffer.from(text, "hex"));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text))
    candidates.push(Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64"));
  return candidates;
}

export function verifyInboundSignature(
  settings: VerificationSettings,
  headers: IncomingHeaders,
  body: Buffer,
  now: Date = new Date(),
): VerificationResult {
  switch (settings.kind) {
    case "STRIPE":
      return verifyStripe(settings.secret, headerValue(headers, "stripe-signature"), body, now);
    case "GITHUB":
      return verifyGitHub(settings.secret, headerValue(headers, "x-hub-signature-256"), body);
    case "HMAC":
      return verifyHmac(settings.secret, settings.header ?? "", body, headers);
  }
}

function verifyStripe(secret: string, header: string | null, body: Buffer, now: Date): VerificationResult {
  if (!header) return { valid: false, reason: "missing Stripe-Signature header" };
  const parts = header.split(",").map((part) => {
    const at = part.indexOf("=");
    return at < 0 ? [part.trim(), ""] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
  const timestamp = Number(parts.find(([key]) => key === "t")?.[1]);
  const signatures = parts.filter(([key]) => key === "v1").map(([, value]) => value as string);
  if (!Number.isInteger(timestamp) || signatures.length === 0) {
    return { valid: false, reason: "Stripe-Signature must carry t=<timestamp> and at least one v1=<signature>" };
  }
  if (Math.abs(now.getTime() / 1000 - timestamp) > STRIPE_TOLERANCE_SECONDS) {
    return { valid: false, reason: `Stripe-Signature timestamp is more than ${STRIPE_TOLERANCE_SECONDS} s from the server's clock` };
  }
  const expected = hmacSha256(secret, Buffer.concat([Buffer.from(`${timestamp}.`), body]));
  const matches = signatures.some((signature) => /^[0-9a-f]+$/i.test(signature) && sameBytes(expected, Buffer.from(signature, "hex")));
  return matches ? { valid: true } : { valid: false, reason: "Stripe-Signature does not match the body" };
}

function verifyGitHub(secret: string, header: string | null, body: Buffer): VerificationResult {
  if (!header) return { valid: false, reason: "missing X-Hub-Signature-256 header" };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return { valid: false, reason: "X-Hub-Signature-256 must be sha256=<64 hex digits>" };
  return sameBytes(hmacSha256(secret, body), Buffer.from(match[1] as string, "hex"))
    ? { valid: true }
    : { valid: false, reason: "X-Hub-Signature-256 does not match the body" };
}

function verifyHmac(secret: string, headerName: string, body: Buffer, headers: IncomingHeaders): VerificationResult {
  const header = headerValue(headers, headerName);
  if (!header) return { valid: false, reason: `missing ${headerName} header` };
  const signature = header.trim().replace(/^sha256=/i, "");
  const expected = hmacSha256(secret, body);
  return decodeSignature(signature).some((candidate) => sameBytes(expected, candidate))
    ? { valid: true }
    : { valid: false, reason: `${headerName} does not match the body (expected the HMAC-SHA256 of the body, hex or base64)` };
}
