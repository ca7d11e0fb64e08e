/** Users: people who sign in. Emails are stored lower-cased, so sign-in ignores case. */
import { v7 as uuidv7 } from "uuid";
import type { Queryable } from "../db/pool.js";
import { DomainError, validationError } from "../errors.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 100;

export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
}

export function normalizeEmail(email: string, field = "input.email"): string {
  const normalized = email.trim().toLowerCase();
  if (normalized.length > MAX_EMAIL_LENGTH || !EMAIL.test(normalized)) {
    throw validationError(field, "email must be an email address like name@example.com");
  }
  return normalized;
}

export function validateUserName(name: string, field = "input.name"): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > MAX_NAME_LENGTH) throw validationError(field, `name must be 1 to ${MAX_NAME_LENGTH} characters`);
  return trimmed;
}

export async function insertUser(db: Queryable, user: { email: string; name: string; passwordHash: string }): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING
     RETURNING id, email, name, password_hash AS "passwordHash"`,
    [uuidv7(), user.email, user.name, user.passwordHash],
  );
  if (!rows[0]) throw new DomainError("CONFLICT", "an account with this email already exists; log in instead", { field: "input.email" });
  return rows[0];
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`SELECT id, email, name, password_hash AS "passwordHash" FROM users WHERE email = $1`, [email]);
  return rows[0] ?? null;
}

export async function hasUsers(db: Queryable): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM users LIMIT 1");
  return rows.length > 0;
}
