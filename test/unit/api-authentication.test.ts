import { describe, expect, it, vi } from 'vitest';
import type { ApiKeyRecord } from '#shared/api-keys.js';
import { AUTH_CACHE_TTL_MS, cachedAuthenticator } from '../../functions/api/authentication.js';

const record: ApiKeyRecord = {
  key_id: 'key_1',
  name: 'team a',
  webhook_secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0',
  previous_webhook_secret: null,
  previous_webhook_secret_expires_at: null,
  created_at: '2025-01-01T00:00:00.000Z',
  revoked_at: null,
};

function fakeStore(answers: Record<string, ApiKeyRecord | null>) {
  return { authenticate: vi.fn(async (token: string) => answers[token] ?? null) };
}

describe('cachedAuthenticator', () => {
  it('remembers a successful authentication for the TTL, then checks the store again', async () => {
    let now = 0;
    const store = fakeStore({ rk_good: record });
    const authenticate = cachedAuthenticator(store, { now: () => now });
    expect(await authenticate('rk_good')).toEqual(record);
    now = AUTH_CACHE_TTL_MS - 1;
    expect(await authenticate('rk_good')).toEqual(record);
    expect(store.authenticate).toHaveBeenCalledTimes(1);
    now = AUTH_CACHE_TTL_MS;
    await authenticate('rk_good');
    expect(store.authenticate).toHaveBeenCalledTimes(2);
  });

  it('sees a revocation once the cached entry expires', async () => {
    let now = 0;
    const answers: Record<string, ApiKeyRecord | null> = { rk_good: record };
    const authenticate = cachedAuthenticator(fakeStore(answers), { now: () => now });
    await authenticate('rk_good');
    answers.rk_good = null;
    now = AUTH_CACHE_TTL_MS;
    expect(await authenticate('rk_good')).toBeNull();
  });

  it('never caches a failure, so a key created a moment later works at once', async () => {
    const answers: Record<string, ApiKeyRecord | null> = {};
    const store = fakeStore(answers);
    const authenticate = cachedAuthenticator(store, { now: () => 0 });
    expect(await authenticate('rk_new')).toBeNull();
    answers.rk_new = record;
    expect(await authenticate('rk_new')).toEqual(record);
    expect(store.authenticate).toHaveBeenCalledTimes(2);
  });
});
