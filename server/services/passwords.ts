/**
 * Password hashing with scrypt (memory-hard, in node:crypto: no native
 * dependency). A hash records its own parameters and salt, so the cost can be
 * raised later without invalidating stored hashes:
 * `scrypt$<N>$<r>$<p>$<salt>$<hash>` (salt and hash base64url).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { validationError } from "../errors.js";

/** 2^15 × 128 × 8 bytes = 32 MiB of memory per hash; tens of milliseconds of CPU. */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
export const PASSWORD_LENGTH = { min: 10, max: 200 } as const;

function deriveKey(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128·N·r; leave headroom for the parameters a stored hash may carry.
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Refuses passwords outside the length rules, naming `field`. */
export function validatePassword(password: string, field = "password"): void {
  if (password.length < PASSWORD_LENGTH.min) {
    throw validationError(field, `password must be at least ${PASSWORD_LENGTH.min} characters`);
  }
  if (password.length > PASSWORD_LENGTH.max) {
    throw validationError(field, `password must be at most ${PASSWORD_LENGTH.max} characters`);
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(password, salt, COST);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Constant-time comparison against a stored hash; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await deriveKey(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the time a real verification takes, so a login for an unknown email
 * answers no faster than one for a known email with a wrong password.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
  await verifyPassword(password, await dummyHash);
  return false;
}
