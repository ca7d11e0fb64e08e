/**
 * signUp is bounded per client address (RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR): every attempt, successful or not,
 * costs a memory-hard hash and open sign-up creates an organisation. Counted in PostgreSQL, across server processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { Browser } from "../helpers/browser.js";
import { startTestInstance, useTestInstance } from "../helpers/runlater.js";

const PER_HOUR = 4;
const env = { RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR: String(PER_HOUR), RUNLATER_TRUST_PROXY: "true" };
const context = useTestInstance({ env });
/** A second API server on the same database, as behind a load balancer. */
let secondServer: RunningInstance;

beforeAll(async () => {
  secondServer = await startTestInstance(context.database.url, { role: "server", env });
});

afterAll(async () => {
  await secondServer?.stop();
});

/** A sign-up as sent from `address` (through the trusted proxy's X-Forwarded-For). */
function signUpFrom(instance: RunningInstance, address: string, email: string) {
  return new Browser(instance).graphql<{ signUp: { user: { email: string } } }>(
    "mutation ($input: SignUpInput!) { signUp(input: $input) { user { email } } }",
    { input: { email, name: email.split("@")[0], password: "correct horse battery" } },
    { headers: { "x-forwarded-for": address } },
  );
}

async function userCount(): Promise<number> {
  const { rows } = await context.instance.runtime.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM users");
  return rows[0]?.count ?? 0;
}

describe("sign-up throttling", () => {
  it("counts every attempt from an address, failed ones too, on every server, and refuses the next with 429", async () => {
    expect((await signUpFrom(context.instance, "198.51.100.7", "first@example.com")).status).toBe(200);
    // An email already taken fails after its hash: it counts.
    const taken = await signUpFrom(secondServer, "198.51.100.7", "first@example.com");
    expect(taken.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect((await signUpFrom(secondServer, "198.51.100.7", "second@example.com")).status).toBe(200);
    expect((await signUpFrom(context.instance, "198.51.100.7", "third@example.com")).status).toBe(200);
    const users = await userCount();

    for (const server of [context.instance, secondServer]) {
      const refused = await signUpFrom(server, "198.51.100.7", "fourth@example.com");
      expect(refused.status).toBe(429);
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe("TOO_MANY_REQUESTS");
      expect(refused.errors?.[0]?.message).toMatch(/too many sign-ups from your address/);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(59 * 60);
      expect(retryAfter).toBeLessThanOrEqual(60 * 60);
      expect(refused.headers.getSetCookie()).toEqual([]);
    }
    expect(await userCount()).toBe(users);

    // Another address is not affected.
    expect((await signUpFrom(secondServer, "203.0.113.9", "elsewhere@example.com")).status).toBe(200);
  });

  it("lets parallel sign-ups from one address through only up to the bound", async () => {
    const answers = await Promise.all(
      Array.from({ length: PER_HOUR + 4 }, (_, index) =>
        signUpFrom(index % 2 ? secondServer : context.instance, "192.0.2.44", `parallel-${index}@example.com`),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(PER_HOUR);
    expect(statuses.filter((status) => status === 429)).toHaveLength(4);
  });

  it("refuses malformed input naming the field, without counting it", async () => {
    const malformed = await signUpFrom(context.instance, "192.0.2.77", "not an email");
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "input.email" });
    for (let index = 0; index < PER_HOUR; index++) {
      expect((await signUpFrom(context.instance, "192.0.2.77", `counted-${index}@example.com`)).status).toBe(200);
    }
  });
});
