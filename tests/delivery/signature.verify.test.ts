import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signatureHeader, verifySignature } from "../../server/services/signature.js";

const secret = "whsec_current";
const previousSecret = "whsec_previous";
const body = JSON.stringify({ orderId: 42, note: "naïve café" });
const signedAt = new Date("2025-06-01T12:00:00Z");
const t = signedAt.getTime() / 1000;

describe("signatureHeader", () => {
  it('has the exact format t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    expect(signatureHeader([secret], t, body)).toBe(`t=${t},v1=${expected}`);
    expect(signatureHeader([secret], t, body)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it("carries one v1 per secret, the current secret first", () => {
    const header = signatureHeader([secret, previousSecret], t, body);
    const [, current, previous] = header.split(",");
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(current).toBe(signatureHeader([secret], t, body).split(",")[1]);
    expect(previous).toBe(signatureHeader([previousSecret], t, body).split(",")[1]);
  });

  it("refuses to sign without a secret or with a fractional timestamp", () => {
    expect(() => signatureHeader([], t, body)).toThrow(RangeError);
    expect(() => signatureHeader([secret], 1.5, body)).toThrow(/whole number of seconds/);
  });
});

describe("verifySignature", () => {
  it("accepts what signatureHeader produced (round trip)", () => {
    expect(verifySignature(signatureHeader([secret], t, body), secret, body, { now: signedAt })).toBe(true);
  });

  it("accepts with either secret while a rotation is in progress", () => {
    const header = signatureHeader([secret, previousSecret], t, body);
    expect(verifySignature(header, secret, body, { now: signedAt })).toBe(true);
    expect(verifySignature(header, previousSecret, body, { now: signedAt })).toBe(true);
    expect(verifySignature(header, "whsec_someone_else", body, { now: signedAt })).toBe(false);
  });

  it("rejects a tampered body, a tampered timestamp and a wrong secret", () => {
    const header = signatureHeader([secret], t, body);
    expect(verifySignature(header, secret, body.replace("42", "43"), { now: signedAt })).toBe(false);
    expect(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), secret, body, { now: signedAt })).toBe(false);
    expect(verifySignature(header, "wrong", body, { now: signedAt })).toBe(false);
  });

  it("rejects a stale or far-future timestamp, within the default 5-minute tolerance", () => {
    const header = signatureHeader([secret], t, body);
    const at = (offsetSeconds: number) => new Date(signedAt.getTime() + offsetSeconds * 1000);
    expect(verifySignature(header, secret, body, { now: at(300) })).toBe(true);
    expect(verifySignature(header, secret, body, { now: at(301) })).toBe(false);
    expect(verifySignature(header, secret, body, { now: at(-301) })).toBe(false);
    expect(verifySignature(header, secret, body, { now: at(3600), toleranceSeconds: 3600 })).toBe(true);
  });

  it("verifies a header written by hand in the documented format", () => {
    const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    expect(verifySignature(`t=${t},v1=${v1}`, secret, body, { now: signedAt })).toBe(true);
    expect(verifySignature(`v1=deadbeef, t=${t}, v1=${v1}`, secret, body, { now: signedAt })).toBe(true);
  });

  it("returns false for malformed headers instead of throwing", () => {
    const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    for (const header of ["", "garbage", `t=${t}`, `v1=${v1}`, `t=abc,v1=${v1}`, `t=${t},v0=${v1}`, `t=${t},v1=`]) {
      expect(verifySignature(header, secret, body, { now: signedAt }), header).toBe(false);
    }
  });
});
