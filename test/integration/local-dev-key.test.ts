/**
 * The key `reelhook dev` registers at every start (REELHOOK_API_KEY / REELHOOK_WEBHOOK_SECRET,
 * or the key it keeps in its data folder): restarts keep its webhook secret, an existing
 * key keeps its name and secret, a revoked key is refused instead of brought back, and a
 * malformed REELHOOK_API_KEY is a usage error (the CLI's check, before the stack starts).
 * Stacks run in this process, one at a time; the API handler is imported once per process
 * and keeps the first stack's DynamoDB endpoint, so keys are checked through the store,
 * not over HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, newApiKeySecret, newWebhookSecret, type IssuedApiKey } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import { localStackOptions } from '../../cli/local-options.js';
import { UsageError } from '../../cli/usage.js';

let dataDir: string;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-dev-key-'));
});

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts dev's stack on the shared data folder, runs `use` against it, and always closes it. */
async function withStack<T>(options: Partial<LocalStackOptions>, use: (stack: LocalStack, keys: ApiKeyStore) => Promise<T>): Promise<T> {
  const stack = await startLocalStack({ dataDir, waitScale: 0, ...options });
  try {
    return await use(stack, new ApiKeyStore(createDocumentClient(), stack.names.tableName));
  } finally {
    await stack.close();
  }
}

describe('reelhook dev and an existing key', () => {
  let own: { apiKey: string; webhookSecret: string; keyId: string };
  let teamA: IssuedApiKey;

  it('keeps its own key and secret across restarts', async () => {
    own = await withStack({}, async (stack, keys) => {
      teamA = await keys.issue('team a');
      return { apiKey: stack.apiKey, webhookSecret: stack.webhookSecret, keyId: stack.keyId };
    });
    await withStack({}, async (stack) => {
      expect({ apiKey: stack.apiKey, webhookSecret: stack.webhookSecret, keyId: stack.keyId }).toEqual(own);
    });
  });

  it('serves a key made by keys create with its own name and webhook secret, at every restart', async () => {
    for (let start = 0; start < 2; start += 1) {
      await withStack({ apiKey: teamA.api_key }, async (stack, keys) => {
        expect(stack.keyId).toBe(teamA.key_id);
        expect(stack.webhookSecret).toBe(teamA.webhook_secret);
        expect(await keys.getById(teamA.key_id)).toMatchObject({ name: 'team a', webhook_secret: teamA.webhook_secret, revoked_at: null });
        expect(await keys.authenticate(teamA.api_key)).toMatchObject({ key_id: teamA.key_id });
      });
    }
  });

  it('keeps the secret of a new REELHOOK_API_KEY across restarts when REELHOOK_WEBHOOK_SECRET is unset', async () => {
    const apiKey = newApiKeySecret();
    const first = await withStack({ apiKey }, async (stack) => ({ keyId: stack.keyId, webhookSecret: stack.webhookSecret }));
    expect(first.webhookSecret).toMatch(/^whsec_/);
    await withStack({ apiKey }, async (stack, keys) => {
      expect({ keyId: stack.keyId, webhookSecret: stack.webhookSecret }).toEqual(first);
      expect(await keys.getById(first.keyId)).toMatchObject({ name: 'local', webhook_secret: first.webhookSecret });
    });
  });

  it('replaces only the secret when REELHOOK_WEBHOOK_SECRET is given', async () => {
    const webhookSecret = newWebhookSecret();
    await withStack({ apiKey: teamA.api_key, webhookSecret }, async (stack, keys) => {
      expect(stack.webhookSecret).toBe(webhookSecret);
      expect(await keys.getById(teamA.key_id)).toMatchObject({ name: 'team a', webhook_secret: webhookSecret, revoked_at: null });
    });
  });

  it('refuses to start with a revoked REELHOOK_API_KEY, and the key stays revoked', async () => {
    const revokedAt = await withStack({}, async (_stack, keys) => (await keys.revoke(teamA.key_id))!.revoked_at);
    await expect(startLocalStack({ dataDir, waitScale: 0, apiKey: teamA.api_key })).rejects.toThrow(
      `REELHOOK_API_KEY is revoked (${teamA.key_id}, at ${revokedAt}): dev does not un-revoke keys`,
    );
    await withStack({}, async (stack, keys) => {
      expect(await keys.getById(teamA.key_id)).toMatchObject({ name: 'team a', revoked_at: revokedAt });
      expect(await keys.authenticate(teamA.api_key)).toBeNull();
      expect(stack.keyId).toBe(own.keyId);
    });
  });

  it('refuses to start when its own saved key was revoked, saying how to get a new one', async () => {
    await withStack({}, async (_stack, keys) => {
      await keys.revoke(own.keyId);
    });
    const started = startLocalStack({ dataDir, waitScale: 0 });
    await expect(started).rejects.toThrow(/the API key saved in .*local-api-key\.json is revoked .*dev does not un-revoke keys; delete .*local-api-key\.json/);
    const summary = await withStack({ apiKey: newApiKeySecret() }, async (_stack, keys) => (await keys.list()).find((key) => key.key_id === own.keyId));
    expect(summary?.revoked_at).toEqual(expect.any(String));
  });
});

/** What `reelhook dev` does with these settings: reads them as the CLI does, then starts the stack. */
async function startDev(env: NodeJS.ProcessEnv): Promise<LocalStack> {
  return startLocalStack(localStackOptions(0, { REELHOOK_DATA_DIR: dataDir, REELHOOK_WAIT_SCALE: '0', ...env }));
}

describe('reelhook dev with a pinned key of the user\'s own', () => {
  it('accepts any rk_ key of 16 to 255 characters from [A-Za-z0-9_-] and any whsec_ secret, and authenticates with them', async () => {
    const pinned = [
      { apiKey: 'rk_test_local_0123456789', webhookSecret: `whsec_${Buffer.from('devsecret').toString('base64')}` },
      { apiKey: `rk_${'A-_z'.repeat(63)}`, webhookSecret: `whsec_${Buffer.from('x'.repeat(32)).toString('base64')}` },
      { apiKey: 'rk_0123456789abc', webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    ];
    for (const { apiKey, webhookSecret } of pinned) {
      const stack = await startDev({ REELHOOK_API_KEY: apiKey, REELHOOK_WEBHOOK_SECRET: webhookSecret });
      try {
        expect(stack.apiKey).toBe(apiKey);
        expect(stack.webhookSecret).toBe(webhookSecret);
        const caller = await new ApiKeyStore(createDocumentClient(), stack.names.tableName).authenticate(apiKey);
        expect(caller?.key_id).toBe(stack.keyId);
        expect(caller?.webhook_secret).toBe(webhookSecret);
      } finally {
        await stack.close();
      }
    }
  });
});

describe('reelhook dev with malformed key settings', () => {
  // A UsageError is what the CLI prints with exit code 2 (cli/main.ts), like its other bad settings.
  it('rejects a REELHOOK_API_KEY that is not an rk_ key as a usage error, without echoing it', async () => {
    for (const apiKey of ['foo', `rk_${'x'.repeat(12)}`, `rk_${'x'.repeat(253)}`, 'rk_has space_0123456789', 'sk_test_local_0123456789', newWebhookSecret()]) {
      const error = (await startDev({ REELHOOK_API_KEY: apiKey }).catch((caught: unknown) => caught)) as Error;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toContain('REELHOOK_API_KEY must be rk_ followed by letters, digits, _ or -, 16 to 255 characters in all');
      expect(error.message).not.toContain(apiKey);
    }
  });

  it('rejects a malformed REELHOOK_WEBHOOK_SECRET the same way', async () => {
    for (const webhookSecret of ['nope', 'whsec_', 'whsec_not base64!', 'whsec_abcde']) {
      const error = (await startDev({ REELHOOK_API_KEY: newApiKeySecret(), REELHOOK_WEBHOOK_SECRET: webhookSecret }).catch((caught: unknown) => caught)) as Error;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toContain('REELHOOK_WEBHOOK_SECRET must be a Standard Webhooks secret');
      // The bare prefix is part of the rule itself; anything longer must not be echoed.
      if (webhookSecret !== 'whsec_') expect(error.message).not.toContain(webhookSecret);
    }
  });

  it('starts after a rejected setting: nothing was left running', async () => {
    const apiKey = newApiKeySecret();
    await withStack({ apiKey }, async (stack) => {
      expect(stack.apiKey).toBe(apiKey);
    });
  });
});
