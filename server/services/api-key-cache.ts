/**
 * Authenticated API keys, remembered for a few seconds, so an API request
 * costs no query for its key (measured: the lookup was one of the two round
 * trips of a push).
 *
 * Revocation still takes effect promptly everywhere: at once in the process
 * that revokes (the resolver calls `forget`), and in every other server
 * process when the revocation's notification arrives (the live event hub
 * calls `forget`; the api_keys trigger of migration `realtime_events`
 * notifies on commit, so within milliseconds). `ttlMs` bounds what a missed
 * notification can let through: notifications sent while the hub's LISTEN
 * connection was down. Only valid keys are remembered; an unknown key always
 * costs a query. Concurrent requests with a key not yet remembered share one
 * lookup.
 */
import type { Queryable } from "../db/pool.js";
import { type ActiveApiKey, findActiveApiKey, hashApiKey, isApiKeySecret, type Principal, recordApiKeyUse } from "./api-keys.js";

interface CachedLookup {
  cachedAt: number;
  lookup: Promise<ActiveApiKey | null>;
  /** Set once the lookup has found the key; until then a revocation cannot tell whether it concerns this entry. */
  key?: ActiveApiKey;
}

export interface ApiKeyCacheOptions {
  /** How long a key is remembered; 0 looks every key up on every request. */
  ttlMs: number;
  /** Most keys remembered at once; the oldest goes first. */
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, CachedLookup>();

  constructor(private readonly options: ApiKeyCacheOptions) {}

  /** The key's principal, or null when the key is unknown or revoked. Records the key's use at most once a minute. */
  async authenticate(db: Queryable, secret: string, now = new Date()): Promise<Principal | null> {
    if (!isApiKeySecret(secret)) return null;
    const hashedKey = hashApiKey(secret);
    let entry = this.entries.get(hashedKey);
    if (entry && now.getTime() - entry.cachedAt >= this.options.ttlMs) {
      this.entries.delete(hashedKey);
      entry = undefined;
    }
    if (!entry) entry = this.remember(db, hashedKey, now);
    const key = await entry.lookup;
    if (!key) return null;
    await recordApiKeyUse(db, key, now);
    return key.principal;
  }

  /** Forgets revoked keys (and lookups still in flight, which may have read them before the revocation). */
  forget(apiKeyIds: Iterable<string>): void {
    const revoked = new Set(apiKeyIds);
    for (const [hashedKey, entry] of this.entries) {
      if (!entry.key || revoked.has(entry.key.principal.apiKeyId as string)) this.entries.delete(hashedKey);
    }
  }

  /** Forgets every key: revocations may have been missed. */
  clear(): void {
    this.entries.clear();
  }

  private remember(db: Queryable, hashedKey: string, now: Date): CachedLookup {
    const lookup = findActiveApiKey(db, hashedKey);
    if (this.options.ttlMs <= 0) return { cachedAt: now.getTime(), lookup };
    const entry: CachedLookup = { cachedAt: now.getTime(), lookup };
    if (this.entries.size >= (this.options.maxEntries ?? DEFAULT_MAX_ENTRIES)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hashedKey, entry);
    lookup.then(
      (key) => {
        if (key) entry.key = key;
        else if (this.entries.get(hashedKey) === entry) this.entries.delete(hashedKey);
      },
      () => {
        if (this.entries.get(hashedKey) === entry) this.entries.delete(hashedKey);
      },
    );
    return entry;
  }
}
