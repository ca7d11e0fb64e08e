/**
 * Brute-force protection for logIn, and a bound on sign-ups per client
 * address, counted in PostgreSQL so every server process shares the counts.
 * Each login attempt is recorded as a failure *before* its password is checked
 * (and marked succeeded afterwards), each sign-up before its password is
 * hashed, under an advisory lock per email and per address: parallel requests
 * cannot slip past a limit while their hashes are being computed.
 */
import type { Pool } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError } from "../errors.js";

export const LOGIN_WINDOW_MS = 15 * 60_000;
/** Failed logins per email within the window (since its last successful login). */
export const MAX_FAILURES_PER_EMAIL = 5;
/** Failed logins from one client address within the window. */
export const MAX_FAILURES_PER_ADDRESS = 20;

/**
 * Records an attempt for `email` from `address`, or refuses it with
 * TOO_MANY_REQUESTS (and when to retry) when either has too many recent failures.
 * Returns the attempt's id for markLoginSucceeded.
 */
export async function reserveLoginAttempt(pool: Pool, email: string, address: string, now = new Date()): Promise<number> {
  return withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runlater:login-email:' || $1))", [email]);
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runlater:login-address:' || $1))", [address]);
    const since = new Date(now.getTime() - LOGIN_WINDOW_MS);
    const { rows } = await client.query<{
      emailFailures: number;
      emailOldest: Date | null;
      addressFailures: number;
      addressOldest: Date | null;
    }>(
      `WITH email_failures AS (
         SELECT created_at FROM login_attempts
         WHERE email = $1 AND NOT succeeded AND created_at > $3
           AND created_at > COALESCE((SELECT max(created_at) FROM login_attempts WHERE email = $1 AND succeeded), '-infinity')
         ORDER BY created_at DESC LIMIT $4
       ), address_failures AS (
         SELECT created_at FROM login_attempts WHERE ip = $2 AND NOT succeeded AND created_at > $3
         ORDER BY created_at DESC LIMIT $5
       )
       SELECT (SELECT count(*) FROM email_failures) AS "emailFailures", (SELECT min(created_at) FROM email_failures) AS "emailOldest",
              (SELECT count(*) FROM address_failures) AS "addressFailures", (SELECT min(created_at) FROM address_failures) AS "addressOldest"`,
      [email, address, since, MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_ADDRESS],
    );
    const counts = rows[0] as NonNullable<(typeof rows)[0]>;
    // Locked until the oldest of the counted failures leaves the window.
    const lockedUntil = [
      counts.emailFailures >= MAX_FAILURES_PER_EMAIL ? counts.emailOldest : null,
      counts.addressFailures >= MAX_FAILURES_PER_ADDRESS ? counts.addressOldest : null,
    ]
      .filter((oldest): oldest is Date => oldest !== null)
      .map((oldest) => oldest.getTime() + LOGIN_WINDOW_MS);
    if (lockedUntil.length) {
      const retryAfterSeconds = Math.max(1, Math.ceil((Math.max(...lockedUntil) - now.getTime()) / 1000));
      throw new DomainError("TOO_MANY_REQUESTS", `too many failed logins; try again in ${retryAfterSeconds} seconds`, {
        retryAfterSeconds,
      });
    }
    const inserted = await client.query<{ id: number }>(
      "INSERT INTO login_attempts (email, ip, created_at) VALUES ($1, $2, $3) RETURNING id",
      [email, address, now],
    );
    return (inserted.rows[0] as { id: number }).id;
  });
}

export async function markLoginSucceeded(pool: Pool, attemptId: number): Promise<void> {
  await pool.query("UPDATE login_attempts SET succeeded = true WHERE id = $1", [attemptId]);
}

export const SIGNUP_WINDOW_MS = 3_600_000;

/**
 * Records a sign-up attempt from `address`, or refuses it with TOO_MANY_REQUESTS (and when to retry) when the
 * address has made `perHour` attempts, successful or not, within the last hour: every sign-up costs a memory-hard
 * hash and open sign-up creates an organisation, so an unbounded stream of them would exhaust the server's CPU and
 * fill the database. 0: no bound.
 */
export async function reserveSignupAttempt(pool: Pool, address: string, perHour: number, now = new Date()): Promise<void> {
  if (perHour === 0) return;
  await withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runlater:signup-address:' || $1))", [address]);
    const { rows } = await client.query<{ count: number; oldest: Date | null }>(
      `SELECT count(*)::int AS count, min(created_at) AS oldest FROM (
         SELECT created_at FROM signup_attempts WHERE ip = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT $3
       ) recent`,
      [address, new Date(now.getTime() - SIGNUP_WINDOW_MS), perHour],
    );
    const { count, oldest } = rows[0] as { count: number; oldest: Date | null };
    if (count >= perHour && oldest) {
      // The next attempt is allowed once the oldest of the counted ones leaves the window.
      const retryAfterSeconds = Math.max(1, Math.ceil((oldest.getTime() + SIGNUP_WINDOW_MS - now.getTime()) / 1000));
      throw new DomainError("TOO_MANY_REQUESTS", `too many sign-ups from your address; try again in ${retryAfterSeconds} seconds`, {
        retryAfterSeconds,
      });
    }
    await client.query("INSERT INTO signup_attempts (ip, created_at) VALUES ($1, $2)", [address, now]);
  });
}

/**
 * Login and sign-up attempts older than a day count for nothing; the retention sweeper deletes them
 * (worker/retention-sweeper.ts).
 */
export async function deleteOldAccountAttempts(pool: Pool, now = new Date()): Promise<void> {
  const dayAgo = new Date(now.getTime() - 24 * 3_600_000);
  await pool.query("DELETE FROM login_attempts WHERE created_at < $1", [dayAgo]);
  await pool.query("DELETE FROM signup_attempts WHERE created_at < $1", [dayAgo]);
}
