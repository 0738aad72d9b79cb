/**
 * The generation routes over real HTTP against the local stack: tenant isolation,
 * Idempotency-Key, listing, the legacy aliases, limits and errors, the OpenAPI document.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, type IssuedApiKey } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { IDEMPOTENCY_WINDOW_SECONDS, IdempotencyStore } from '#shared/records/idempotency.js';
import { generationKey } from '#shared/records/record.js';
import { errorBodySchema, generationPageSchema, generationRecordSchema } from '../../functions/api/schemas.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';
const RETENTION_DAYS = 30;

let stack: LocalStack;
let dataDir: string;
let keys: ApiKeyStore;
let teamB: IssuedApiKey;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  // These tests poll fast; the rate limit has its own test file.
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  // What a stack deployed with recordRetention: Duration.days(RETENTION_DAYS) hands the API.
  process.env.REELHOOK_RECORD_TTL_DAYS = String(RETENTION_DAYS);
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-api-'));
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 } });
  keys = new ApiKeyStore(createDocumentClient(), stack.names.tableName);
  teamB = await keys.issue('team b');
});

afterAll(async () => {
  await receiver?.close();
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, path: string, options: { body?: unknown; key?: string | null } = {}) =>
  api(stack.url, method, path, { body: options.body, apiKey: options.key === undefined ? stack.apiKey : options.key });

/** A POST with headers of our choosing (api() sets only auth and content type). */
async function post(path: string, body: string, headers: Record<string, string>, key = stack.apiKey) {
  const response = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...headers },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, json: (await response.json()) as any, headers: response.headers };
}

const body = (prompt: string, extra: Record<string, unknown> = {}) => ({ model: V16, prompt, ...extra });

async function waitForTerminal(id: string, key = stack.apiKey): Promise<any> {
  return waitFor(async () => {
    const { json } = await call('GET', `/v2/video/generations/${id}`, { key });
    return json.status === 'completed' || json.status === 'error' ? json : undefined;
  }, 30_000);
}

function expectErrorShape(json: unknown, name: string): void {
  const parsed = errorBodySchema.parse(json);
  expect(parsed.error.name).toBe(name);
}

describe('tenant isolation', () => {
  it("answers 404 for another key's generation on every route, exactly like an unknown id", async () => {
    const created = await call('POST', '/v2/video/generations', { body: body('A fox in the snow') });
    expect(created.status).toBe(200);
    const id: string = created.json.id;
    const unknown = 'gen_0000000000unknownunknown00';
    const probes = (target: string): Array<[string, string]> => [
      ['GET', `/v2/video/generations/${target}`],
      ['GET', `/v2/video/generations?generation_id=${target}`],
      ['GET', `/v2/generate/video/kling/generation?generation_id=${target}`],
      ['DELETE', `/v2/video/generations/${target}`],
      ['POST', `/v2/video/generations/${target}/redeliver`],
    ];
    for (const [index, [method, path]] of probes(id).entries()) {
      const theirs = await call(method, path, { key: teamB.api_key });
      const [, unknownPath] = probes(unknown)[index]!;
      const missing = await call(method, unknownPath, { key: teamB.api_key });
      expect(theirs.status, `${method} ${path}`).toBe(404);
      expect(missing.status).toBe(404);
      expectErrorShape(theirs.json, 'NotFound');
      expect(theirs.json.error.message.replace(id, 'ID')).toBe(missing.json.error.message.replace(unknown, 'ID'));
    }
    // The owner still sees it, and the other key's listing never shows it.
    expect((await call('GET', `/v2/video/generations/${id}`)).status).toBe(200);
    const listed = await call('GET', '/v2/video/generations?limit=100', { key: teamB.api_key });
    expect(listed.json.data.map((item: { id: string }) => item.id)).not.toContain(id);
  });

  it('answers 404 NotFound for an id that cannot exist (too long, wrong shape) on every per-id route', async () => {
    const long = `gen_${'x'.repeat(3000)}`;
    for (const target of [long, 'y'.repeat(3000), `gen_${'0'.repeat(27)}`, '%F0%9F%8E%AC']) {
      for (const [method, path] of [
        ['GET', `/v2/video/generations/${target}`],
        ['GET', `/v2/video/generations?generation_id=${target}`],
        ['GET', `/v2/generate/video/kling/generation?generation_id=${target}`],
        ['DELETE', `/v2/video/generations/${target}`],
        ['POST', `/v2/video/generations/${target}/redeliver`],
      ] as const) {
        const answer = await call(method, path);
        expect(answer.status, `${method} ${path.slice(0, 60)}`).toBe(404);
        expectErrorShape(answer.json, 'NotFound');
        expect(answer.json.error.message.length).toBeLessThan(100);
      }
    }
  });

  it("rejects a cursor issued to another key, naming the field", async () => {
    await call('POST', '/v2/video/generations', { body: body('one') });
    await call('POST', '/v2/video/generations', { body: body('two') });
    const page = await call('GET', '/v2/video/generations?limit=1');
    expect(page.json.next_cursor).toEqual(expect.any(String));
    const stolen = await call('GET', `/v2/video/generations?cursor=${page.json.next_cursor}`, { key: teamB.api_key });
    expect(stolen.status).toBe(400);
    expect(stolen.json.error.message).toMatch(/^cursor:/);
  });
});

describe('Idempotency-Key', () => {
  it('turns 20 concurrent identical POSTs into one generation and one provider job', async () => {
    // Earlier tests' generations may still wait for a provider slot: their creates are not this test's.
    await stack.engine.idle();
    const before = stack.simulator!.counters.creates;
    const request = JSON.stringify(body('A kite over the dunes'));
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/v2/video/generations', request, { 'content-type': 'application/json', 'idempotency-key': 'kite-1' })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    const ids = new Set(answers.map((answer) => answer.json.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    const done = await waitForTerminal(id);
    expect(done.status).toBe('completed');
    expect(stack.simulator!.counters.creates - before).toBe(1);
  });

  it('answers the same generation for the same body in another key order, and 409 for another body', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'order-42' };
    const first = await post('/v2/video/generations', JSON.stringify({ model: V16, prompt: 'A tram at night', metadata: { a: 1, b: 2 } }), headers);
    const again = await post('/v2/video/generations', JSON.stringify({ metadata: { b: 2, a: 1 }, prompt: 'A tram at night', model: V16 }), headers);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);

    const different = await post('/v2/video/generations', JSON.stringify({ model: V16, prompt: 'A tram at dawn' }), headers);
    expect(different.status).toBe(409);
    expectErrorShape(different.json, 'Conflict');
    expect(different.json.error.message).toContain('Idempotency-Key');
  });

  it('scopes keys to the API key: the same Idempotency-Key from another key makes its own generation', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'shared-name' };
    const request = JSON.stringify(body('A lantern festival'));
    const mine = await post('/v2/video/generations', request, headers);
    const theirs = await post('/v2/video/generations', request, headers, teamB.api_key);
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(theirs.json.id).not.toBe(mine.json.id);
  });

  it('treats a claim older than 24 h as absent and replaces it', async () => {
    const claims = new IdempotencyStore(createDocumentClient(), stack.names.tableName);
    const start = Date.now();
    const first = { generation_id: 'gen_first', body_hash: 'a' };
    const second = { generation_id: 'gen_second', body_hash: 'b' };
    expect(await claims.claim('key_x', 'retry-me', first, start)).toEqual(first);
    expect(await claims.claim('key_x', 'retry-me', second, start + (IDEMPOTENCY_WINDOW_SECONDS - 1) * 1000)).toEqual(first);
    expect(await claims.claim('key_x', 'retry-me', second, start + IDEMPOTENCY_WINDOW_SECONDS * 1000)).toEqual(second);
  });

  it('rejects an Idempotency-Key over 255 characters, naming the header', async () => {
    const answer = await post('/v2/video/generations', JSON.stringify(body('x')), {
      'content-type': 'application/json',
      'idempotency-key': 'k'.repeat(256),
    });
    expect(answer.status).toBe(400);
    expectErrorShape(answer.json, 'ValidationError');
    expect(answer.json.error.message).toMatch(/^Idempotency-Key:/);
  });
});

describe('listing', () => {
  let lister: IssuedApiKey;
  const created: string[] = [];

  beforeAll(async () => {
    lister = await keys.issue('lister');
    for (const prompt of ['first', 'second [sim:status-error]', 'third', 'fourth [sim:status-error]', 'fifth']) {
      const { json } = await call('POST', '/v2/video/generations', { body: body(prompt), key: lister.api_key });
      created.push(json.id);
    }
    await Promise.all(created.map((id) => waitForTerminal(id, lister.api_key)));
  });

  it('pages through the caller\'s generations newest first with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2';
      const page = await call('GET', `/v2/video/generations?${query}`, { key: lister.api_key });
      expect(page.status).toBe(200);
      const parsed = generationPageSchema.parse(page.json);
      expect(parsed.data.length).toBeLessThanOrEqual(2);
      seen.push(...parsed.data.map((item) => item.id));
      cursor = parsed.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
  });

  it('answers next_cursor null on a last page that is exactly full, with or without a filter', async () => {
    const all = await call('GET', '/v2/video/generations?limit=5', { key: lister.api_key });
    expect(all.json.data).toHaveLength(5);
    expect(all.json.next_cursor).toBeNull();
    const failed = await call('GET', '/v2/video/generations?status=error&limit=2', { key: lister.api_key });
    expect(failed.json.data.map((item: { id: string }) => item.id)).toEqual([created[3], created[1]]);
    expect(failed.json.next_cursor).toBeNull();
    // A cursor ends the page at its last item: the next page starts right after it and is the last.
    const first = await call('GET', '/v2/video/generations?limit=3', { key: lister.api_key });
    expect(first.json.next_cursor).toEqual(expect.any(String));
    const last = await call('GET', `/v2/video/generations?limit=2&cursor=${first.json.next_cursor}`, { key: lister.api_key });
    expect(last.json.data.map((item: { id: string }) => item.id)).toEqual([created[1], created[0]]);
    expect(last.json.next_cursor).toBeNull();
  });

  it('filters by status', async () => {
    const failed = await call('GET', '/v2/video/generations?status=error', { key: lister.api_key });
    expect(failed.json.data.map((item: { id: string }) => item.id)).toEqual([created[3], created[1]]);
    expect(failed.json.data.every((item: { status: string }) => item.status === 'error')).toBe(true);
    const completed = await call('GET', '/v2/video/generations?status=completed&limit=2', { key: lister.api_key });
    expect(completed.json.data.map((item: { id: string }) => item.id)).toEqual([created[4], created[2]]);
    const rest = await call('GET', `/v2/video/generations?status=completed&limit=2&cursor=${completed.json.next_cursor}`, { key: lister.api_key });
    expect(rest.json.data.map((item: { id: string }) => item.id)).toEqual([created[0]]);
  });

  it('defaults to 20 per page', async () => {
    const page = await call('GET', '/v2/video/generations', { key: lister.api_key });
    expect(page.json.data).toHaveLength(5);
    expect(page.json.next_cursor).toBeNull();
  });

  it('answers 400 for a forged cursor of the right owner whose key could not have come from a page', async () => {
    const owner = `OWNER#${lister.key_id}`;
    const id = created[2]!;
    const forged = [
      { pk: `GEN#${'x'.repeat(3000)}`, gsi1pk: owner, gsi1sk: `2026-01-01T00:00:00.000Z#${id}` },
      { pk: `GEN#${id}`, gsi1pk: owner, gsi1sk: 'z'.repeat(3000) },
      { pk: `GEN#${id}`, gsi1pk: owner, gsi1sk: '2026-01-01T00:00:00.000Z#gen_01jd0000000000000000000000' },
    ];
    for (const key of forged) {
      const cursor = Buffer.from(JSON.stringify(key)).toString('base64url');
      const answer = await call('GET', `/v2/video/generations?cursor=${cursor}`, { key: lister.api_key });
      expect(answer.status).toBe(400);
      expectErrorShape(answer.json, 'ValidationError');
      expect(answer.json.error.message).toMatch(/^cursor:/);
    }
  });

  it('answers 400 naming the field for a bad limit, status or cursor', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['status=done', 'status'],
      ['cursor=not-a-cursor', 'cursor'],
    ] as const) {
      const answer = await call('GET', `/v2/video/generations?${query}`, { key: lister.api_key });
      expect(answer.status, query).toBe(400);
      expectErrorShape(answer.json, 'ValidationError');
      expect(answer.json.error.message.startsWith(`${field}:`), query).toBe(true);
    }
  });
});

describe('record retention', () => {
  it('stamps a new record with expires_at, and answers 404 and lists nothing once it has passed', async () => {
    const owner = await keys.issue('retention');
    const created = await call('POST', '/v2/video/generations', { body: body('A tide coming in'), key: owner.api_key });
    const id: string = created.json.id;
    await waitForTerminal(id, owner.api_key);

    const db = createDocumentClient();
    const key = { pk: generationKey(id) };
    const { Item } = await db.send(new GetCommand({ TableName: stack.names.tableName, Key: key }));
    expect(Item?.expires_at).toBe(Math.floor(Date.parse(created.json.created_at) / 1000) + RETENTION_DAYS * 24 * 60 * 60);

    // dynalite has no TTL, and DynamoDB's deletes late: an expires_at in the past stands in for the days gone by.
    await db.send(
      new UpdateCommand({
        TableName: stack.names.tableName,
        Key: key,
        UpdateExpression: 'SET expires_at = :past',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    const read = await call('GET', `/v2/video/generations/${id}`, { key: owner.api_key });
    expect(read.status).toBe(404);
    expectErrorShape(read.json, 'NotFound');
    const page = await call('GET', '/v2/video/generations', { key: owner.api_key });
    expect(page.json).toEqual({ data: [], next_cursor: null });
  });
});

describe('legacy aliases', () => {
  it('starts and reads a generation on the vendor path', async () => {
    const created = await call('POST', '/v2/generate/video/kling/generation', { body: body('A heron in a marsh', { duration: '5' }) });
    expect(created.status).toBe(200);
    expect(created.json.status).toBe('queued');
    const done = await waitFor(async () => {
      const { status, json } = await call('GET', `/v2/generate/video/kling/generation?generation_id=${created.json.id}`);
      expect(status).toBe(200);
      return json.status === 'completed' ? json : undefined;
    }, 30_000);
    expect(done.id).toBe(created.json.id);
    expect(done.video.url).toEqual(expect.any(String));
    // The live record is exactly what the OpenAPI document describes.
    expect(() => generationRecordSchema.parse(done)).not.toThrow();
  });
});

describe('an empty generation_id', () => {
  it('answers 400 ValidationError naming generation_id on both read paths', async () => {
    for (const path of ['/v2/video/generations?generation_id=', '/v2/generate/video/kling/generation?generation_id=']) {
      const answer = await call('GET', path);
      expect(answer.status, path).toBe(400);
      expectErrorShape(answer.json, 'ValidationError');
      expect(answer.json.error.message, path).toMatch(/^generation_id:/);
    }
  });
});

describe('callback_events: []', () => {
  it('is accepted and delivers no webhook: the callback stays none', async () => {
    const silent = await call('POST', '/v2/video/generations', {
      body: body('A silent film', { callback_url: `${receiver.url}/silent`, callback_events: [] }),
    });
    expect(silent.status).toBe(200);
    const done = await waitForTerminal(silent.json.id);
    expect(done.status).toBe('completed');
    // A generation with the default events to the same receiver, finished after it: once its
    // webhook arrived, the silent one's notify step has long run.
    const loud = await call('POST', '/v2/video/generations', { body: body('A loud film', { callback_url: `${receiver.url}/loud` }) });
    await waitFor(() => (receiver.received.some((hook) => hook.path === '/loud') ? true : undefined), 30_000);
    expect(receiver.received.filter((hook) => hook.path === '/silent')).toEqual([]);
    const after = await call('GET', `/v2/video/generations/${silent.json.id}`);
    expect(after.json.callback).toEqual({ url: `${receiver.url}/silent`, state: 'none', attempts: 0, last_status_code: null, next_attempt_at: null, attempt_log: [] });
    expect((await waitForTerminal(loud.json.id)).callback.url).toBe(`${receiver.url}/loud`);
  });
});

describe('the prompt', () => {
  it('is kept exactly as sent, in the record and in the request to the provider', async () => {
    const prompt = '  A lighthouse in fog \n';
    const created = await call('POST', '/v2/video/generations', { body: body(prompt) });
    expect(created.status).toBe(200);
    expect(created.json.prompt).toBe(prompt);
    const done = await waitForTerminal(created.json.id);
    expect(done.prompt).toBe(prompt);
    const toProvider = stack.simulator!.createBodies
      .map((sent) => JSON.parse(sent) as { prompt?: string })
      .filter((request) => request.prompt?.includes('A lighthouse in fog'));
    expect(toProvider.map((request) => request.prompt)).toEqual([prompt]);
  });

  it('counts its 2500 characters as sent, surrounding whitespace included', async () => {
    const over = await call('POST', '/v2/video/generations', { body: body(` ${'p'.repeat(2499)} `) });
    expect(over.status).toBe(400);
    expect(over.json.error.message).toMatch(/^prompt:/);
    const blank = await call('POST', '/v2/video/generations', { body: body(' \t ') });
    expect(blank.status).toBe(400);
    expect(blank.json.error.details).toEqual([{ field: 'prompt', message: 'must not be empty' }]);
  });
});

describe('limits and errors', () => {
  it('answers 413 for a body over 64 KiB, 415 for another content type and 400 for malformed JSON', async () => {
    const big = await post('/v2/video/generations', JSON.stringify(body('x'.repeat(66_000))), { 'content-type': 'application/json' });
    expect(big.status).toBe(413);
    expectErrorShape(big.json, 'PayloadTooLarge');
    const typed = await post('/v2/video/generations', JSON.stringify(body('x')), { 'content-type': 'text/plain' });
    expect(typed.status).toBe(415);
    expectErrorShape(typed.json, 'UnsupportedMediaType');
    const broken = await post('/v2/video/generations', '{"model": ', { 'content-type': 'application/json' });
    expect(broken.status).toBe(400);
    expectErrorShape(broken.json, 'ValidationError');
    expect(broken.json.error.message).toMatch(/^body:/);
  });

  it('answers 413 PayloadTooLarge in the error shape for a 10 MiB body, reading no more than the 64 KiB limit', async () => {
    const huge = await post('/v2/video/generations', 'x'.repeat(10 * 1024 * 1024 + 1), { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expectErrorShape(huge.json, 'PayloadTooLarge');
    expect(huge.json.error.details).toBeNull();
  });

  it('answers 400 naming metadata over 4 KiB and a prompt over 2500 characters', async () => {
    const metadata = await call('POST', '/v2/video/generations', { body: body('x', { metadata: { blob: 'm'.repeat(4100) } }) });
    expect(metadata.status).toBe(400);
    expect(metadata.json.error.message).toMatch(/^metadata:/);
    const prompt = await call('POST', '/v2/video/generations', { body: body('p'.repeat(2501)) });
    expect(prompt.status).toBe(400);
    expect(prompt.json.error.message).toMatch(/^prompt:/);
    expect(prompt.json.error.details).toEqual([{ field: 'prompt', message: expect.stringContaining('2500') }]);
  });

  it('answers 401 for a missing, unknown or revoked key without echoing it', async () => {
    const revoked = await keys.issue('to revoke');
    await keys.revoke(revoked.key_id);
    for (const key of [null, 'rk_unknown_key_value_123', revoked.api_key]) {
      const answer = await call('GET', '/v2/video/generations', { key });
      expect(answer.status).toBe(401);
      expectErrorShape(answer.json, 'Unauthorized');
      if (key) expect(JSON.stringify(answer.json)).not.toContain(key);
    }
  });

  it('never returns the webhook secret or the provider key', async () => {
    const created = await call('POST', '/v2/video/generations', { body: body('A quiet harbor') });
    const done = await waitForTerminal(created.json.id);
    const text = JSON.stringify(done);
    expect(text).not.toContain(stack.webhookSecret);
    expect(text).not.toContain(process.env.AIMLAPI_KEY!);
    expect(text).not.toContain(stack.apiKey);
  });
});

describe('GET /openapi.json', () => {
  it('serves the OpenAPI 3.1 document without a key', async () => {
    const { status, json } = await call('GET', '/openapi.json', { key: null });
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(json.paths)).toContain('/v2/video/generations/{generation_id}');
  });
});
