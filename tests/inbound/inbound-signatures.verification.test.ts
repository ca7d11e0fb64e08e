/**
 * Signature verification of inbound webhooks (Stripe, GitHub, generic HMAC)
 * over real HTTP: a valid signature is accepted and forwarded; an invalid or
 * missing one is answered 401, stored REJECTED with the reason, and not
 * forwarded.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();
const SECRET = "whsec_test_secret_value";
const BODY = '{"type":"invoice.paid","id":"evt_1"}';

const hmac = (payload: string, encoding: "hex" | "base64" = "hex") => createHmac("sha256", SECRET).update(payload).digest(encoding);
const now = () => Math.floor(Date.now() / 1000);

interface Event {
  id: string;
  status: string;
  rejectionReason: string | null;
  deliveries: unknown[];
}

async function endpointWith(verify: Record<string, unknown>): Promise<{ id: string; slug: string }> {
  const created = await rest<{ id: string; slug: string }>(context.instance, ALICE_KEY, "POST", "/endpoints", {
    name: `verified ${String(verify.kind)}`,
    forwardUrls: [context.sink.url],
    verify,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

async function deliver(slug: string, headers: Record<string, string>): Promise<{ status: number; event: Event }> {
  const answer = await fetch(`${context.instance.url}/in/${slug}`, { method: "POST", headers, body: BODY });
  const body = (await answer.json()) as { id?: string; eventId?: string };
  const { body: event } = await rest<Event>(context.instance, ALICE_KEY, "GET", `/events/${body.id ?? body.eventId}`);
  return { status: answer.status, event };
}

const schemes: Array<{ verify: Record<string, unknown>; valid: () => Record<string, string>; invalid: () => Record<string, string> }> = [
  {
    verify: { kind: "STRIPE", secret: SECRET },
    valid: () => {
      const t = now();
      return { "stripe-signature": `t=${t},v1=${"0".repeat(64)},v1=${hmac(`${t}.${BODY}`)}` };
    },
    invalid: () => {
      const t = now();
      return { "stripe-signature": `t=${t},v1=${hmac(`${t}.${BODY}tampered`)}` };
    },
  },
  {
    verify: { kind: "GITHUB", secret: SECRET },
    valid: () => ({ "x-hub-signature-256": `sha256=${hmac(BODY)}` }),
    invalid: () => ({ "x-hub-signature-256": `sha256=${hmac("other")}` }),
  },
  {
    verify: { kind: "HMAC", secret: SECRET, header: "X-Signature" },
    valid: () => ({ "x-signature": hmac(BODY, "base64") }),
    invalid: () => ({ "x-signature": hmac("other") }),
  },
];

describe.each(schemes)("$verify.kind", ({ verify, valid, invalid }) => {
  it("accepts and forwards a valid signature", async () => {
    const endpoint = await endpointWith(verify);
    const before = context.sink.requests.length;
    const { status, event } = await deliver(endpoint.slug, valid());
    expect(status).toBe(202);
    expect(event).toMatchObject({ status: "ACCEPTED", rejectionReason: null });
    expect(event.deliveries).toHaveLength(1);
    await context.sink.waitForRequests(before + 1);
  });

  it("rejects an invalid or missing signature with 401, stores the event REJECTED and forwards nothing", async () => {
    const endpoint = await endpointWith(verify);
    for (const headers of [invalid(), {}]) {
      const { status, event } = await deliver(endpoint.slug, headers);
      expect(status).toBe(401);
      expect(event.status).toBe("REJECTED");
      expect(event.rejectionReason).toMatch(/signature|missing|match/i);
      expect(event.deliveries).toHaveLength(0);
    }
  });
});

describe("STRIPE", () => {
  it("refuses a correctly signed request whose timestamp is older than 5 minutes (a replay)", async () => {
    const endpoint = await endpointWith({ kind: "STRIPE", secret: SECRET });
    const t = now() - 301;
    const { status, event } = await deliver(endpoint.slug, { "stripe-signature": `t=${t},v1=${hmac(`${t}.${BODY}`)}` });
    expect(status).toBe(401);
    expect(event.rejectionReason).toMatch(/timestamp/);
  });

  it("reports the verification kind but never the secret", async () => {
    const endpoint = await endpointWith({ kind: "HMAC", secret: SECRET, header: "X-Sig" });
    const { body } = await rest<Record<string, unknown>>(context.instance, ALICE_KEY, "GET", `/endpoints/${endpoint.id}`);
    expect(body.verification).toEqual({ kind: "HMAC", header: "X-Sig" });
    expect(JSON.stringify(body)).not.toContain(SECRET);
    const removed = await rest<Record<string, unknown>>(context.instance, ALICE_KEY, "PATCH", `/endpoints/${endpoint.id}`, {
      removeVerification: true,
    });
    expect(removed.body.verification).toBeNull();
  });
});
