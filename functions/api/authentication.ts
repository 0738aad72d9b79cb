/**
 * Bearer authentication with a short-lived cache of successes.
 *
 * Every request needs its key checked; two consistent DynamoDB reads per request is
 * most of a small request's cost. A Lambda instance therefore remembers a key that
 * authenticated for {@link AUTH_CACHE_TTL_MS}: a revocation takes effect on every
 * instance within that time. Failures are never cached: a key created a moment ago
 * must work at once, and unknown tokens (anyone can send those) must not be able to
 * fill the memory or push good keys out. Entries are keyed by the token's SHA-256,
 * so no instance holds bearer tokens in memory longer than a request.
 */
import type { ApiKeyRecord, ApiKeyStore } from '#shared/api-keys.js';
import { hashApiKey } from '#shared/api-keys.js';

export const AUTH_CACHE_TTL_MS = 30_000;
/** Distinct keys remembered per instance; the oldest entry makes room. */
const MAX_CACHED_KEYS = 1000;

export type Authenticate = (token: string) => Promise<ApiKeyRecord | null>;

export function cachedAuthenticator(
  keys: Pick<ApiKeyStore, 'authenticate'>,
  options: { ttlMs?: number; now?: () => number } = {},
): Authenticate {
  const ttlMs = options.ttlMs ?? AUTH_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { record: ApiKeyRecord; expiresAt: number }>();
  return async (token) => {
    const hash = hashApiKey(token);
    const cached = cache.get(hash);
    if (cached && cached.expiresAt > now()) return cached.record;
    cache.delete(hash);
    const record = await keys.authenticate(token);
    if (record) {
      if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string);
      cache.set(hash, { record, expiresAt: now() + ttlMs });
    }
    return record;
  };
}
