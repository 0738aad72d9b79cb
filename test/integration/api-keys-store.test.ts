/**
 * ApiKeyStore against dynalite (the DynamoDB wire protocol) on loopback: revocation is
 * seen by the next authentication, and registering a chosen key (what `reelhook dev`
 * does at every start) never un-revokes, renames or re-secrets an existing key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, isApiKeySecret, newApiKeySecret, newWebhookSecret, RevokedApiKeyError } from '#shared/auth/api-keys.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

let table: LocalTable;
let keys: ApiKeyStore;

beforeAll(async () => {
  table = await startLocalTable('reelhook-keys');
  keys = new ApiKeyStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

describe('authenticate', () => {
  it('refuses a key from the first call after its revocation', async () => {
    const issued = await keys.issue('team a');
    expect(await keys.authenticate(issued.api_key)).toMatchObject({ key_id: issued.key_id, revoked_at: null });
    await keys.revoke(issued.key_id);
    expect(await keys.authenticate(issued.api_key)).toBeNull();
  });

  it('refuses a key revoked through another store (the CLI, another instance) from its next call, though it remembers the key', async () => {
    const issued = await keys.issue('team e');
    const api = new ApiKeyStore(table.db, table.tableName);
    expect(await api.authenticate(issued.api_key)).toMatchObject({ key_id: issued.key_id });
    await keys.revoke(issued.key_id);
    expect(await api.authenticate(issued.api_key)).toBeNull();
  });

  it('reads one item to authenticate a token it has seen, two the first time, and accepts a key made after an unknown token was refused', async () => {
    const gets: string[] = [];
    const counted = new ApiKeyStore(countingGets(gets), table.tableName);
    const issued = await keys.issue('team f');
    await counted.authenticate(issued.api_key);
    expect(gets).toHaveLength(2);
    gets.length = 0;
    expect(await counted.authenticate(issued.api_key)).toMatchObject({ key_id: issued.key_id });
    expect(gets).toEqual([`KEYID#${issued.key_id}`]);

    const chosen = newApiKeySecret();
    expect(await counted.authenticate(chosen)).toBeNull();
    const registered = await keys.register(chosen, { name: 'later' });
    expect(await counted.authenticate(chosen)).toMatchObject({ key_id: registered.key_id });
  });
});

/** The table's client, noting the `pk` of every GetItem sent through it. */
function countingGets(gets: string[]): LocalTable['db'] {
  return new Proxy(table.db, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string }; input: { Key?: { pk?: string } } }) => {
        if (command.constructor.name === 'GetCommand') gets.push(String(command.input.Key?.pk));
        return target.send(command as never);
      };
    },
  });
}

describe('register', () => {
  it('creates an unknown key, then keeps its secret when registered again without one', async () => {
    const apiKey = newApiKeySecret();
    const first = await keys.register(apiKey, { name: 'local' });
    expect(first.webhook_secret).toMatch(/^whsec_/);
    const again = await keys.register(apiKey, { name: 'local' });
    expect(again).toEqual(first);
    expect(await keys.list()).toContainEqual(expect.objectContaining({ key_id: first.key_id, name: 'local', revoked_at: null }));
  });

  it('uses secretIfNew only for a key it creates', async () => {
    const apiKey = newApiKeySecret();
    const saved = newWebhookSecret();
    const created = await keys.register(apiKey, { name: 'local', secretIfNew: saved });
    expect(created.webhook_secret).toBe(saved);
    const issued = await keys.issue('team b');
    const existing = await keys.register(issued.api_key, { name: 'local', secretIfNew: newWebhookSecret() });
    expect(existing.webhook_secret).toBe(issued.webhook_secret);
  });

  it('keeps the name, secret and creation time of a key made by keys create', async () => {
    const issued = await keys.issue('team c');
    const before = await keys.getById(issued.key_id);
    const registered = await keys.register(issued.api_key, { name: 'local' });
    expect(registered).toEqual(issued);
    expect(await keys.getById(issued.key_id)).toEqual(before);
  });

  it('keeps a rotated secret (and its previous one) instead of restoring the old one', async () => {
    const issued = await keys.issue('team d');
    const rotated = await keys.rotateWebhookSecret(issued.key_id);
    const registered = await keys.register(issued.api_key, { name: 'local' });
    expect(registered.webhook_secret).toBe(rotated!.webhook_secret);
    expect(await keys.getById(issued.key_id)).toMatchObject({ webhook_secret: rotated!.webhook_secret, previous_webhook_secret: issued.webhook_secret });
  });

  it('replaces only the secret when one is given explicitly', async () => {
    const issued = await keys.issue('team e');
    const explicit = newWebhookSecret();
    const registered = await keys.register(issued.api_key, { name: 'local', webhookSecret: explicit });
    expect(registered).toEqual({ key_id: issued.key_id, api_key: issued.api_key, webhook_secret: explicit });
    expect(await keys.getById(issued.key_id)).toMatchObject({ name: 'team e', webhook_secret: explicit, revoked_at: null });
    expect(await keys.authenticate(issued.api_key)).toMatchObject({ webhook_secret: explicit });
  });

  it('refuses a revoked key and leaves it revoked, with or without an explicit secret', async () => {
    const issued = await keys.issue('team f');
    const revoked = await keys.revoke(issued.key_id);
    const before = await keys.getById(issued.key_id);
    for (const webhookSecret of [undefined, newWebhookSecret()]) {
      const attempt = keys.register(issued.api_key, { name: 'local', webhookSecret });
      await expect(attempt).rejects.toBeInstanceOf(RevokedApiKeyError);
      await expect(attempt).rejects.toMatchObject({ keyId: issued.key_id, revokedAt: revoked!.revoked_at });
    }
    expect(await keys.getById(issued.key_id)).toEqual(before);
    expect(await keys.authenticate(issued.api_key)).toBeNull();
  });
});

describe('isApiKeySecret', () => {
  it('accepts what newApiKeySecret makes and nothing else', () => {
    for (let i = 0; i < 50; i += 1) expect(isApiKeySecret(newApiKeySecret())).toBe(true);
    for (const value of ['foo', 'rk_', 'rk_short', `rk_${'a'.repeat(31)}`, `rk_${'a'.repeat(33)}`, `rk_${'a'.repeat(31)}=`, `RK_${'a'.repeat(32)}`, newWebhookSecret()]) {
      expect(isApiKeySecret(value), value).toBe(false);
    }
  });
});
