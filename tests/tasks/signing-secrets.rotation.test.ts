import { describe, expect, it } from "vitest";
import { verifySignature } from "../../server/services/signature.js";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();

type Secrets = { current: string; previous: string | null; previousExpiresAt: string | null };

describe("signing secret rotation", () => {
  it("signs with both secrets during the grace period, each signature verifiable", async () => {
    const before = await rest<Secrets>(runlater.instance, ALICE_KEY, "GET", "/signing-secrets");
    expect(before.body).toMatchObject({ previous: null, previousExpiresAt: null });
    expect(before.body.current).toMatch(/^whsec_/);

    const rotated = await graphql<{ rotateSigningSecret: Secrets }>(
      runlater.instance,
      ALICE_KEY,
      "mutation { rotateSigningSecret { current previous previousExpiresAt } }",
    );
    const after = rotated.data!.rotateSigningSecret;
    expect(after.previous).toBe(before.body.current);
    expect(after.current).not.toBe(before.body.current);
    const graceHours = (new Date(after.previousExpiresAt!).getTime() - Date.now()) / 3_600_000;
    expect(graceHours).toBeGreaterThan(23.9);
    expect(graceHours).toBeLessThanOrEqual(24);

    await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: runlater.sink.url, body: { rotated: true } });
    const [received] = await runlater.sink.waitForRequests(1);
    const header = String(received!.headers["runlater-signature"]);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, after.current, received!.body)).toBe(true);
    expect(verifySignature(header, before.body.current, received!.body)).toBe(true);
    expect(verifySignature(header, after.current, `${received!.body} `)).toBe(false);

    const listed = await graphql<{ signingSecrets: Secrets }>(runlater.instance, ALICE_KEY, "{ signingSecrets { current previous } }");
    expect(listed.data?.signingSecrets).toMatchObject({ current: after.current, previous: before.body.current });
  });
});
