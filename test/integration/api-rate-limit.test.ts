/**
 * The per-key rate limit over real HTTP: a fixed one-minute window counted in the
 * local DynamoDB. The API handler reads REELHOOK_RATE_LIMIT_PER_MINUTE when the stack
 * imports it, so the limit is set before the stack starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { api } from '../support/http.js';

const LIMIT = 5;

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = String(LIMIT);
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-rate-'));
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 } });
});

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** 2 × LIMIT + 1 requests at once: even if a minute boundary falls among them, one window gets more than LIMIT. */
const burst = (apiKey: string | null, path = '/v2/video/generations?limit=1') =>
  Promise.all(Array.from({ length: 2 * LIMIT + 1 }, () => api(stack.url, 'GET', path, { apiKey })));

describe('the per-key rate limit', () => {
  it('answers 429 RateLimited with Retry-After once a key is over its limit for the minute', async () => {
    const answers = await burst(stack.apiKey);
    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(2 * LIMIT);
    for (const answer of limited) {
      expect(answer.json.error).toMatchObject({ name: 'RateLimited', details: { limit_per_minute: LIMIT } });
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(answer.json.error.details.retry_after_seconds).toBe(retryAfter);
    }
  });

  it('counts each key on its own and leaves /healthz alone', async () => {
    const other = await new ApiKeyStore(createDocumentClient(), stack.names.tableName).issue('other team');
    const first = await api(stack.url, 'GET', '/v2/video/generations?limit=1', { apiKey: other.api_key });
    expect(first.status).toBe(200);
    const health = await burst(null, '/healthz');
    expect(health.every((answer) => answer.status === 200)).toBe(true);
  });
});
