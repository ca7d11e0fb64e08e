/**
 * Signing up, logging in and out, and the account operations that move a
 * session between organisations. The first account on an installation owns
 * the default organisation; later ones get an organisation of their own
 * (RUNLATER_SIGNUP=open) or need an invite (RUNLATER_SIGNUP=invite).
 */
import type { Pool, Queryable } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";
import { DomainError, validationError } from "../errors.js";
import type { Principal } from "./api-keys.js";
import { redeemInvite } from "./invites.js";
import { markLoginSucceeded, reserveLoginAttempt, reserveSignupAttempt } from "./login-throttle.js";
import { addMembership, createOwnedOrganization } from "./memberships.js";
import { createOrganization } from "./organizations.js";
import { hashPassword, PASSWORD_LENGTH, validatePassword, verifyAgainstDummy, verifyPassword } from "./passwords.js";
import { type CreatedSession, createSession, requireSession } from "./sessions.js";
import { findUserByEmail, hasUsers, insertUser, normalizeEmail, type UserRow, validateUserName } from "./users.js";

export type SignupPolicy = "open" | "invite";

export interface SetupStatus {
  hasUsers: boolean;
  signupOpen: boolean;
}

export async function getSetupStatus(pool: Pool, signup: SignupPolicy): Promise<SetupStatus> {
  const users = await hasUsers(pool);
  return { hasUsers: users, signupOpen: !users || signup === "open" };
}

export interface SignedIn {
  userId: string;
  organizationId: string;
  session: CreatedSession;
}

export async function signUp(
  pool: Pool,
  signup: { policy: SignupPolicy; perAddressPerHour: number },
  input: { email: string; password: string; name: string; inviteToken?: string | null },
  address: string,
): Promise<SignedIn> {
  const email = normalizeEmail(input.email);
  const name = validateUserName(input.name);
  validatePassword(input.password, "input.password");
  // Counted before the hash, like a login: a flood of sign-ups is refused before it costs memory-hard hashes.
  await reserveSignupAttempt(pool, address, signup.perAddressPerHour);
  const passwordHash = await hashPassword(input.password);
  return withTransaction(pool, async (client) => {
    // The same lock as bootstrapDefaultOrganization: exactly one first account owns the default organisation.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runlater:bootstrap'))");
    const isFirstAccount = !(await hasUsers(client));
    if (!input.inviteToken && !isFirstAccount && signup.policy === "invite") {
      throw new DomainError("FORBIDDEN", "sign-up on this installation needs an invite: ask an organisation's admin for a link", {
        field: "input.inviteToken",
      });
    }
    const user = await insertUser(client, { email, name, passwordHash });
    let organizationId: string;
    if (input.inviteToken) {
      ({ organizationId } = await redeemInvite(client, input.inviteToken, user, "input.inviteToken"));
    } else if (isFirstAccount) {
      const existing = await client.query<{ id: string }>("SELECT id FROM organizations ORDER BY created_at LIMIT 1");
      organizationId = existing.rows[0]?.id ?? (await createOrganization(client, { name: "Default", slug: "default" })).id;
      await addMembership(client, organizationId, user.id, "OWNER");
    } else {
      organizationId = await createOwnedOrganization(client, user.id, `${name}'s organisation`);
    }
    return { userId: user.id, organizationId, session: await createSession(client, user.id, organizationId) };
  });
}

/**
 * Checks an email and password, throttled (login-throttle.ts). Unknown emails
 * and wrong passwords get the same answer after the same work. With
 * `inviteToken`, the invite is accepted as part of logging in.
 */
export async function logIn(
  pool: Pool,
  signup: SignupPolicy,
  input: { email: string; password: string; inviteToken?: string | null },
  clientAddress: string,
): Promise<SignedIn> {
  const email = normalizeEmail(input.email);
  if (!input.password) throw validationError("input.password", "password is required");
  // No account has a longer one; refusing it early keeps huge inputs away from the hash.
  if (input.password.length > PASSWORD_LENGTH.max)
    throw validationError("input.password", `password must be at most ${PASSWORD_LENGTH.max} characters`);
  const attemptId = await reserveLoginAttempt(pool, email, clientAddress);
  const user = await findUserByEmail(pool, email);
  const valid = user ? await verifyPassword(input.password, user.passwordHash) : await verifyAgainstDummy(input.password);
  if (!user || !valid) throw new DomainError("UNAUTHENTICATED", "wrong email or password");
  await markLoginSucceeded(pool, attemptId);
  return withTransaction(pool, async (client) => {
    const organizationId = input.inviteToken
      ? (await redeemInvite(client, input.inviteToken, user, "input.inviteToken")).organizationId
      : await organizationToSignInto(client, user, signup);
    return { userId: user.id, organizationId, session: await createSession(client, user.id, organizationId) };
  });
}

/** The organisation of the user's latest session if still a member, else their oldest membership. */
async function organizationToSignInto(client: Queryable, user: UserRow, signup: SignupPolicy): Promise<string> {
  const { rows } = await client.query<{ organizationId: string }>(
    `SELECT m.organization_id AS "organizationId" FROM memberships m
     LEFT JOIN LATERAL (SELECT max(created_at) AS last FROM sessions s WHERE s.user_id = m.user_id AND s.organization_id = m.organization_id) s ON true
     WHERE m.user_id = $1 ORDER BY s.last DESC NULLS LAST, m.created_at LIMIT 1`,
    [user.id],
  );
  if (rows[0]) return rows[0].organizationId;
  // Removed from every organisation: like a new sign-up, an organisation of their own, or an invite.
  if (signup === "invite") {
    throw new DomainError("FORBIDDEN", "you are not a member of any organisation: log in with an invite link", {
      field: "input.inviteToken",
    });
  }
  return createOwnedOrganization(client, user.id, `${user.name}'s organisation`);
}

/** Accepts an invite as the signed-in user, and switches the session to the organisation joined. */
export async function acceptInviteAsViewer(pool: Pool, principal: Principal, token: string): Promise<string> {
  const sessionId = requireSession(principal, "accept an invite");
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; email: string }>("SELECT id, email FROM users WHERE id = $1", [principal.userId]);
    const user = rows[0];
    if (!user) throw new DomainError("UNAUTHENTICATED", "your account no longer exists");
    const { organizationId } = await redeemInvite(client, token, user, "token");
    await client.query("UPDATE sessions SET organization_id = $2 WHERE id = $1", [sessionId, organizationId]);
    return organizationId;
  });
}

/** Creates an organisation owned by the signed-in user and switches the session to it. */
export async function createOrganizationAsViewer(pool: Pool, principal: Principal, name: string): Promise<string> {
  const sessionId = requireSession(principal, "create organisations");
  return withTransaction(pool, async (client) => {
    const organizationId = await createOwnedOrganization(client, principal.userId as string, name, "input.name");
    await client.query("UPDATE sessions SET organization_id = $2 WHERE id = $1", [sessionId, organizationId]);
    return organizationId;
  });
}
