import { afterAll, describe, expect, it } from "vitest";
import { sameOriginCookie } from "../../server/http/subscriptions.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { ALICE_KEY, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

function live(apiKey: string | null, options: { headers?: Record<string, string> } = {}): LiveSubscription<unknown> {
  const subscription = subscribe(runlater.instance.url as string, apiKey, "subscription { orgActivity { kind } }", {}, options);
  open.push(subscription);
  return subscription;
}

/** A new API key of alice's organisation, to revoke. */
async function createKey(name: string): Promise<{ apiKey: { id: string }; secret: string }> {
  const created = await graphql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
    runlater.instance,
    ALICE_KEY,
    "mutation($name: String!) { createApiKey(name: $name) { apiKey { id } secret } }",
    { name },
  );
  return created.data!.createApiKey;
}

describe("WebSocket connections are authenticated", () => {
  it("refuses a connection without credentials with 4401", async () => {
    const subscription = live(null);
    await expect(subscription.connected).rejects.toThrow(/4401/);
    expect(subscription.closed?.code).toBe(4401);
    expect(subscription.closed?.reason).toContain("missing credentials");
  });

  it("refuses an unknown API key with 4401", async () => {
    const subscription = live("rl_not_a_real_key_0000000000000000000000");
    await expect(subscription.connected).rejects.toThrow(/4401/);
    expect(subscription.closed?.reason).toContain("invalid or revoked");
  });

  it("closes a connection promptly (4403) when its API key is revoked, and refuses the key afterwards", async () => {
    const { apiKey, secret } = await createKey("dashboard");
    const subscription = live(secret);
    await subscription.ready();
    const untouched = live(ALICE_KEY);
    await untouched.ready();

    const revokedAt = Date.now();
    expect((await rest(runlater.instance, ALICE_KEY, "DELETE", `/api-keys/${apiKey.id}`)).status).toBe(200);
    await eventually(async () => subscription.closed !== null, 5000);
    expect(subscription.closed).toMatchObject({ code: 4403, reason: "credentials revoked" });
    // Prompt: acted on the revocation's notification, not the minute-long periodic re-check.
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(untouched.closed).toBeNull();

    const again = live(secret);
    await expect(again.connected).rejects.toThrow(/4401/);
  });
});

describe("subscriptions over server-sent events", () => {
  /** Opens `subscription { orgActivity … }` as a server-sent event stream; `text` collects what arrives. */
  async function eventStream(apiKey: string) {
    const aborted = new AbortController();
    const response = await fetch(`${runlater.instance.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { orgActivity { kind task { name } } }" }),
      signal: aborted.signal,
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const stream = { text: "", ended: false, abort: () => aborted.abort() };
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) stream.text += decoder.decode(chunk);
      } catch {
        // aborted by the test
      }
      stream.ended = true;
    })();
    return stream;
  }

  it("end when their API key is revoked, and stream nothing pushed afterwards", async () => {
    const { apiKey, secret } = await createKey("sse");
    const revoked = await eventStream(secret);
    const untouched = await eventStream(ALICE_KEY);
    try {
      await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: "https://example.com/before", name: "before-revocation" });
      await eventually(async () => revoked.text.includes("before-revocation"), 5000);

      expect((await rest(runlater.instance, ALICE_KEY, "DELETE", `/api-keys/${apiKey.id}`)).status).toBe(200);
      await eventually(async () => revoked.ended, 5000);
      await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: "https://example.com/after", name: "after-revocation" });
      await eventually(async () => untouched.text.includes("after-revocation"), 5000);
      expect(revoked.text).not.toContain("after-revocation");
      expect(untouched.ended).toBe(false);
    } finally {
      revoked.abort();
      untouched.abort();
    }
  });
});

describe("sameOriginCookie (cross-site WebSocket hijacking)", () => {
  it("passes the cookie only without an Origin or with one matching the Host", () => {
    expect(sameOriginCookie({ headers: { cookie: "runlater_session=abc", host: "app.example.com" } })).toBe("runlater_session=abc");
    expect(
      sameOriginCookie({ headers: { cookie: "runlater_session=abc", host: "app.example.com", origin: "https://app.example.com" } }),
    ).toBe("runlater_session=abc");
    expect(
      sameOriginCookie({ headers: { cookie: "runlater_session=abc", host: "app.example.com", origin: "https://evil.example" } }),
    ).toBeUndefined();
    expect(sameOriginCookie({ headers: { cookie: "runlater_session=abc", host: "app.example.com", origin: "null" } })).toBeUndefined();
  });

  it("does not accept a cross-site connection on the strength of a cookie alone", async () => {
    const subscription = live(null, { headers: { cookie: "runlater_session=anything", origin: "https://evil.example" } });
    await expect(subscription.connected).rejects.toThrow(/4401/);
  });
});
