/** logIn: right and wrong credentials, and brute-force lockout counted in PostgreSQL across server processes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { Browser, logIn, signUp } from "../helpers/browser.js";
import { startTestInstance, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();
const PASSWORD = "correct horse battery";
/** A second API server on the same database, as behind a load balancer. */
let secondServer: RunningInstance;

beforeAll(async () => {
  await signUp(new Browser(context.instance), { email: "ada@example.com", password: PASSWORD });
  await signUp(new Browser(context.instance), { email: "grace@example.com", password: PASSWORD });
  await signUp(new Browser(context.instance), { email: "katherine@example.com", password: PASSWORD });
  secondServer = await startTestInstance(context.database.url, { role: "server" });
});

afterAll(async () => {
  await secondServer?.stop();
});

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe("logIn", () => {
  it("signs in with the right password, in any case of the email, and sets both cookies", async () => {
    const browser = new Browser(context.instance);
    const answer = await logIn(browser, "ADA@example.com", PASSWORD);
    expect(answer.status).toBe(200);
    expect(answer.data?.logIn).toMatchObject({ user: { email: "ada@example.com" }, role: "OWNER" });
    expect([...browser.cookies.keys()].sort()).toEqual(["runlater_csrf", "runlater_session"]);
    const viewer = await browser.graphql<{ viewer: { user: { email: string } } }>("{ viewer { user { email } } }");
    expect(viewer.data?.viewer.user.email).toBe("ada@example.com");
  });

  it("answers a wrong password and an unknown email alike, after comparable work", async () => {
    const wrong = await timed(() => logIn(new Browser(context.instance), "grace@example.com", "wrong password!"));
    const unknown = await timed(() => logIn(new Browser(context.instance), "nobody@example.com", "wrong password!"));
    for (const { result } of [wrong, unknown]) {
      expect(result.status).toBe(401);
      expect(result.data).toBeNull();
      expect(result.errors?.[0]).toMatchObject({ message: "wrong email or password", extensions: { code: "UNAUTHENTICATED" } });
      expect(result.headers.getSetCookie()).toEqual([]);
    }
    // Both pay for a memory-hard hash; an unknown email does not answer in a fraction of the time.
    expect(unknown.ms).toBeGreaterThan(wrong.ms / 4);
  });

  it("refuses a malformed email naming the field", async () => {
    const answer = await logIn(new Browser(context.instance), "not an email", PASSWORD);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "input.email" });
  });
});

describe("brute-force protection", () => {
  it("locks an email after 5 failures within 15 minutes, on every server, even for the right password", async () => {
    for (let failure = 1; failure <= 5; failure++) {
      const server = failure % 2 ? context.instance : secondServer;
      expect((await logIn(new Browser(server), "katherine@example.com", `guess number ${failure}`)).status).toBe(401);
    }
    for (const server of [context.instance, secondServer]) {
      const locked = await logIn(new Browser(server), "katherine@example.com", PASSWORD);
      expect(locked.status).toBe(429);
      expect(locked.errors?.[0]?.extensions?.code).toBe("TOO_MANY_REQUESTS");
      const retryAfter = Number(locked.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(locked.data).toBeNull();
    }
    // Another account is not affected.
    expect((await logIn(new Browser(secondServer), "ada@example.com", PASSWORD)).status).toBe(200);
  });

  it("lets parallel guesses through only up to the limit", async () => {
    await signUp(new Browser(context.instance), { email: "linus@example.com", password: PASSWORD });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        logIn(new Browser(index % 2 ? context.instance : secondServer), "linus@example.com", `parallel guess ${index}`),
      ),
    );
    expect(answers.filter((answer) => answer.status === 401)).toHaveLength(5);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(5);
  });

  it("unlocks once the failures leave the 15-minute window", async () => {
    await context.instance.runtime.pool.query(
      "UPDATE login_attempts SET created_at = created_at - interval '16 minutes' WHERE email = 'katherine@example.com'",
    );
    expect((await logIn(new Browser(context.instance), "katherine@example.com", PASSWORD)).status).toBe(200);
  });

  it("counts failures since the last successful login only", async () => {
    for (let failure = 1; failure <= 4; failure++) await logIn(new Browser(context.instance), "ada@example.com", `typo ${failure}`);
    expect((await logIn(new Browser(context.instance), "ada@example.com", PASSWORD)).status).toBe(200);
    for (let failure = 1; failure <= 4; failure++) await logIn(new Browser(context.instance), "ada@example.com", `typo ${failure}`);
    expect((await logIn(new Browser(context.instance), "ada@example.com", PASSWORD)).status).toBe(200);
  });

  it("locks a client address after 20 failures within 15 minutes, whatever the emails", async () => {
    const failed = await context.instance.runtime.pool.query<{ count: number }>(
      "SELECT count(*) FROM login_attempts WHERE NOT succeeded AND created_at > now() - interval '15 minutes'",
    );
    // Earlier tests in this file already failed from this address; top it up to 20 with unknown emails.
    for (let failure = failed.rows[0]!.count; failure < 20; failure++) {
      expect((await logIn(new Browser(context.instance), `stranger${failure}@example.com`, "not the password")).status).toBe(401);
    }
    const locked = await logIn(new Browser(secondServer), "ada@example.com", PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
