/** Session cookies: CSRF protection, log-out, sliding expiry, stale cookies, and Secure in production. */
import { describe, expect, it } from "vitest";
import { Browser, logIn, signUp } from "../helpers/browser.js";
import { ALICE_KEY, graphql, startTestInstance, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();

async function signedIn(email: string): Promise<Browser> {
  const browser = new Browser(context.instance);
  await signUp(browser, { email });
  return browser;
}

describe("CSRF protection", () => {
  it("refuses a cookie-authenticated POST without the X-CSRF-Token header, or with a wrong one, with 403 CSRF", async () => {
    const browser = await signedIn("csrf@example.com");
    for (const csrf of [null, "forged-token", `${browser.csrfToken}x`]) {
      const answer = await browser.graphql(`mutation { pushTask(url: "https://example.com/csrf", delay: "1h") { id } }`, {}, { csrf });
      expect(answer.status).toBe(403);
      expect(answer.errors?.[0]?.extensions?.code).toBe("CSRF");
      expect(answer.errors?.[0]?.message).toMatch(/X-CSRF-Token/);
    }
    const tasks = await browser.graphql<{ tasks: { edges: unknown[] } }>("{ tasks { edges { node { id } } } }");
    expect(tasks.data?.tasks.edges).toEqual([]);
  });

  it("accepts the request with the header matching the runlater_csrf cookie", async () => {
    const browser = await signedIn("csrf-ok@example.com");
    const pushed = await browser.graphql<{ pushTask: { id: string } }>(
      `mutation { pushTask(url: "https://example.com/ok", delay: "1h") { id } }`,
    );
    expect(pushed.status).toBe(200);
    expect(pushed.data?.pushTask.id).toBeTruthy();
  });

  it("refuses the CSRF token of another session", async () => {
    const mallory = await signedIn("mallory@example.com");
    const victim = await signedIn("victim@example.com");
    const answer = await victim.graphql(`mutation { pushTask(url: "https://example.com/x") { id } }`, {}, { csrf: mallory.csrfToken });
    expect(answer.status).toBe(403);
  });

  it("needs no token for GET requests (queries only), nor for API keys", async () => {
    const browser = await signedIn("getter@example.com");
    const query = await browser.get(`/graphql?query=${encodeURIComponent("{ viewer { user { email } } }")}`);
    expect(query.status).toBe(200);
    expect(query.body).toEqual({ data: { viewer: { user: { email: "getter@example.com" } } } });
    const rest = await browser.get("/api/v1/tasks");
    expect(rest.status).toBe(200);
    const withKey = await graphql(context.instance, ALICE_KEY, `mutation { pushTask(url: "https://example.com/key", delay: "1h") { id } }`);
    expect(withKey.status).toBe(200);
  });

  it("prefers the API key when a request carries both a key and a session cookie", async () => {
    const browser = await signedIn("both@example.com");
    const answer = await browser.graphql<{ viewer: null; organization: { name: string } }>(
      "{ viewer { role } organization { name } }",
      {},
      { csrf: null, headers: { authorization: `Bearer ${ALICE_KEY}` } },
    );
    expect(answer.status).toBe(200);
    expect(answer.data).toEqual({ viewer: null, organization: { name: "Default" } });
  });
});

describe("logOut", () => {
  it("deletes the session and clears both cookies; the old cookie then authenticates nothing", async () => {
    const browser = await signedIn("leaver@example.com");
    const oldCookie = browser.cookieHeader();
    const answer = await browser.graphql<{ logOut: boolean }>("mutation { logOut }");
    expect(answer.data).toEqual({ logOut: true });
    expect(browser.lastSetCookies.map((cookie) => [cookie.name, cookie.value, cookie.attributes.get("max-age")])).toEqual([
      ["runlater_session", "", "0"],
      ["runlater_csrf", "", "0"],
    ]);
    expect(browser.cookies.size).toBe(0);

    const replayed = await fetch(`${context.instance.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: oldCookie },
      body: JSON.stringify({ query: "{ viewer { role } tasks { edges { node { id } } } }" }),
    });
    expect(replayed.status).toBe(401);
    const rest = await fetch(`${context.instance.url}/api/v1/tasks`, { headers: { cookie: oldCookie } });
    expect(rest.status).toBe(401);
  });

  it("lets a browser with a dead session cookie log in again, and tells it to drop the cookie", async () => {
    const browser = await signedIn("returning@example.com");
    await context.instance.runtime.pool.query(
      "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'returning@example.com')",
    );
    const viewer = await browser.graphql("{ viewer { role } }");
    expect(viewer.data).toEqual({ viewer: null });
    expect(browser.cookies.size).toBe(0);
    browser.cookies.set("runlater_session", "stale-token");
    const again = await logIn(browser, "returning@example.com", "correct horse battery");
    expect(again.status).toBe(200);
    expect(browser.cookies.get("runlater_session")).not.toBe("stale-token");
  });
});

describe("sliding expiry", () => {
  it("pushes the expiry of a used session forward and sends the cookies again", async () => {
    const browser = await signedIn("slider@example.com");
    const { pool } = context.instance.runtime;
    await pool.query(
      "UPDATE sessions SET expires_at = now() + interval '2 days' WHERE user_id = (SELECT id FROM users WHERE email = 'slider@example.com')",
    );
    const answer = await browser.graphql("{ viewer { role } }");
    expect(answer.data).toEqual({ viewer: { role: "OWNER" } });
    const session = browser.lastSetCookies.find((cookie) => cookie.name === "runlater_session");
    expect(Number(session?.attributes.get("max-age"))).toBeGreaterThan(13 * 24 * 3600);
    const { rows } = await pool.query<{ days: number }>(
      `SELECT extract(epoch FROM expires_at - now()) / 86400 AS days FROM sessions
       WHERE user_id = (SELECT id FROM users WHERE email = 'slider@example.com')`,
    );
    expect(Number(rows[0]?.days)).toBeGreaterThan(13.9);
  });

  it("ends an expired session", async () => {
    const browser = await signedIn("expired@example.com");
    await context.instance.runtime.pool.query(
      "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM users WHERE email = 'expired@example.com')",
    );
    expect((await browser.graphql("{ viewer { role } }")).data).toEqual({ viewer: null });
  });
});

describe("in production", () => {
  it("marks both cookies Secure", async () => {
    const production = await startTestInstance(context.database.url, { role: "server", env: { NODE_ENV: "production" } });
    try {
      const browser = new Browser(production);
      await signUp(browser, { email: "secure@example.com" });
      const names = browser.lastSetCookies.filter((cookie) => cookie.attributes.has("secure")).map((cookie) => cookie.name);
      expect(names.sort()).toEqual(["runlater_csrf", "runlater_session"]);
    } finally {
      await production.stop();
    }
  });
});
