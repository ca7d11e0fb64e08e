/** Sign-up: the first account owns the default organisation, later ones get their own; validation names the field. */
import { describe, expect, it } from "vitest";
import { Browser, signUp, VIEWER_FIELDS } from "../helpers/browser.js";
import { ALICE_KEY, graphql, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();

describe("signUp", () => {
  it("tells an empty installation that sign-up is open and nobody is signed in", async () => {
    const status = await graphql(context.instance, null, "{ setupStatus { hasUsers signupOpen } viewer { role } }");
    expect(status.status).toBe(200);
    expect(status.data).toEqual({ setupStatus: { hasUsers: false, signupOpen: true }, viewer: null });
  });

  it("makes the first account the OWNER of the default organisation, the one the bootstrap API key belongs to", async () => {
    const defaultOrganization = await graphql<{ organization: { id: string } }>(context.instance, ALICE_KEY, "{ organization { id } }");
    const browser = new Browser(context.instance);
    const viewer = await signUp(browser, { email: "Owner@Example.com", name: "Olive Owner" });
    expect(viewer).toMatchObject({ user: { email: "owner@example.com", name: "Olive Owner" }, role: "OWNER" });
    expect(viewer.organization.id).toBe(defaultOrganization.data?.organization.id);
    expect(viewer.memberships).toEqual([{ role: "OWNER", organization: viewer.organization }]);

    const again = await browser.graphql<{ viewer: { role: string } }>(`{ viewer { ${VIEWER_FIELDS} } setupStatus { hasUsers } }`);
    expect(again.data).toMatchObject({ viewer: { role: "OWNER", user: { email: "owner@example.com" } }, setupStatus: { hasUsers: true } });
  });

  it("gives a later account an organisation of its own", async () => {
    const first = await graphql<{ organization: { id: string } }>(context.instance, ALICE_KEY, "{ organization { id } }");
    const viewer = await signUp(new Browser(context.instance), { email: "second@example.com", name: "Sam" });
    expect(viewer.role).toBe("OWNER");
    expect(viewer.organization.name).toBe("Sam's organisation");
    expect(viewer.organization.id).not.toBe(first.data?.organization.id);
  });

  it("sets an HttpOnly, SameSite=Lax session cookie and a readable SameSite=Strict CSRF cookie, not Secure outside production", async () => {
    const browser = new Browser(context.instance);
    await signUp(browser, { email: "cookies@example.com" });
    const session = browser.lastSetCookies.find((cookie) => cookie.name === "runlater_session");
    const csrf = browser.lastSetCookies.find((cookie) => cookie.name === "runlater_csrf");
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(session?.attributes.has("httponly")).toBe(true);
    expect(session?.attributes.get("samesite")).toBe("Lax");
    expect(session?.attributes.get("path")).toBe("/");
    expect(Number(session?.attributes.get("max-age"))).toBeGreaterThan(13 * 24 * 3600);
    expect(session?.attributes.has("secure")).toBe(false);
    expect(csrf?.value).toBeTruthy();
    expect(csrf?.attributes.has("httponly")).toBe(false);
    expect(csrf?.attributes.get("samesite")).toBe("Strict");
    expect(csrf?.attributes.has("secure")).toBe(false);
  });

  it("stores only a hash of the session token and a salted scrypt hash of the password", async () => {
    const browser = new Browser(context.instance);
    await signUp(browser, { email: "hashes@example.com", password: "a very long passphrase" });
    const { rows } = await context.instance.runtime.pool.query<{ password_hash: string; hashed_token: string }>(
      "SELECT u.password_hash, s.hashed_token FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.email = 'hashes@example.com'",
    );
    expect(rows[0]?.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(rows[0]?.password_hash).not.toContain("passphrase");
    expect(rows[0]?.hashed_token).not.toBe(browser.cookies.get("runlater_session"));
  });

  it.each([
    [{ email: "not-an-email" }, "input.email", /email/],
    [{ email: "short@example.com", password: "123456789" }, "input.password", /at least 10/],
    [{ email: "long@example.com", password: "x".repeat(201) }, "input.password", /at most 200/],
    [{ email: "noname@example.com", name: "   " }, "input.name", /name/],
  ])("refuses %o naming %s", async (input, field, message) => {
    const answer = await new Browser(context.instance).graphql(`mutation ($input: SignUpInput!) { signUp(input: $input) { role } }`, {
      input: { name: "N", password: "correct horse battery", ...input },
    });
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field });
    expect(answer.errors?.[0]?.message).toMatch(message);
  });

  it("refuses a second account with the same email, whatever its case", async () => {
    const answer = await new Browser(context.instance).graphql(
      `mutation { signUp(input: { email: "OWNER@example.com", password: "correct horse battery", name: "Copy" }) { role } }`,
    );
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", field: "input.email" });
  });

  it("answers viewer null to anonymous callers and to API keys, and 401 UNAUTHENTICATED for private fields", async () => {
    expect((await graphql(context.instance, ALICE_KEY, "{ viewer { role } }")).data).toEqual({ viewer: null });
    const anonymous = await graphql(context.instance, null, "{ viewer { role } tasks { edges { node { id } } } }");
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(anonymous.data)).not.toContain("edges");
    const mutation = await graphql(context.instance, null, `mutation { createApiKey(name: "x") { secret } }`);
    expect(mutation.status).toBe(401);
    expect(mutation.data).toBeNull();
  });
});
