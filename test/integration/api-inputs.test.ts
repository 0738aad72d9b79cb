/**
 * Inputs that once made the API answer 500 or alter what was sent, over real HTTP against
 * the local stack: metadata with prototype keys, metadata deeper than DynamoDB nests,
 * bodies that are not UTF-8 and prompts with lone surrogates. Each is either kept exactly
 * (record, GET, webhook, event) or refused with a 400 naming the field, never a 500.
 */
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '#shared/records/idempotency.js';
import type { BusEvent } from '../../local/eventbridge.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';
const PATH = '/v2/video/generations';

let fixture: StackFixture;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  fixture = await startStackFixture('inputs');
});

afterAll(async () => {
  await fixture?.close();
});

/** A POST of exactly these bytes (fetch would encode a string as UTF-8 itself). */
function postBytes(body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(PATH, fixture.stack.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.stack.apiKey}`, 'content-type': 'application/json', 'content-length': body.length, ...headers },
      timeout: 15_000,
    });
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const postText = (json: string, headers: Record<string, string> = {}) => postBytes(Buffer.from(json, 'utf8'), headers);
const get = (id: string) => api(fixture.stack.url, 'GET', `${PATH}/${id}`, { apiKey: fixture.stack.apiKey });

async function busEvents(): Promise<BusEvent[]> {
  const text = await readFile(fixture.stack.eventsFile, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as BusEvent);
}

function expectValidationError(answer: { status: number; json: any }, field: string, message: RegExp): void {
  expect(answer.status).toBe(400);
  expect(answer.json.error.name).toBe('ValidationError');
  expect(answer.json.error.details).toContainEqual({ field, message: expect.stringMatching(message) });
  expect(answer.json.error.message.startsWith(`${field}:`)).toBe(true);
}

describe('metadata keys the SDK reads as type hints', () => {
  /** `constructor` at every depth, inside arrays too: the shapes that answered 500 (or were stored as "[object Object]"). */
  const metadata = '{"constructor":"Ferrari","a":{"constructor":{"name":"String"}},"list":[{"constructor":{"name":"Set"}},[{"constructor":1}]]}';

  it('keeps constructor keys exactly in the answer, GET, the webhook and the event, and on an Idempotency-Key retry', async () => {
    const body = `{"model":"${V16}","prompt":"A red car","callback_url":"${fixture.receiver.url}/proto","metadata":${metadata}}`;
    const headers = { 'idempotency-key': 'constructor-keys' };
    const created = await postText(body, headers);
    expect(created.status).toBe(200);
    const id = created.json.id as string;
    const exact = canonicalJson(JSON.parse(metadata));
    expect(canonicalJson(created.json.metadata)).toBe(exact);

    const retried = await postText(body, headers);
    expect(retried.status).toBe(200);
    expect(retried.json.id).toBe(id);
    expect(canonicalJson(retried.json.metadata)).toBe(exact);

    const done = await waitFor(async () => {
      const { json } = await get(id);
      return json.status === 'completed' || json.status === 'error' ? json : undefined;
    }, 30_000);
    expect(done.status).toBe('completed');
    expect(canonicalJson(done.metadata)).toBe(exact);

    const webhook = await waitFor(() => fixture.receiver.received.find((hook) => hook.path === '/proto'), 30_000);
    expect(canonicalJson(webhook.json.data.metadata)).toBe(exact);
    const event = await waitFor(
      async () => (await busEvents()).find((candidate) => candidate['detail-type'] === 'Video Generation Completed' && (candidate.detail as { id?: string }).id === id),
      30_000,
    );
    expect(canonicalJson((event.detail as { metadata: unknown }).metadata)).toBe(exact);
  });

  it('refuses a __proto__ key at any depth with a 400 naming where it is, also on an Idempotency-Key retry', async () => {
    const body = `{"model":"${V16}","prompt":"A red car","metadata":{"ok":1,"list":[{"__proto__":{"polluted":true}}]}}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      expectValidationError(await postText(body, { 'idempotency-key': 'proto-key' }), 'metadata.list[0]', /"__proto__"/);
    }
    expectValidationError(await postText(`{"model":"${V16}","prompt":"x","metadata":{"__proto__":1}}`), 'metadata', /"__proto__"/);
  });
});

describe('DynamoDB nesting limit, which dynalite does not enforce', () => {
  it('accepts metadata 31 levels deep (metadata is level 1) and refuses 32 with a 400 naming the field', async () => {
    const nested = (levels: number): string => `{"k":${'['.repeat(levels - 1)}"leaf"${']'.repeat(levels - 1)}}`;
    const accepted = await postText(`{"model":"${V16}","prompt":"deep","metadata":${nested(31)}}`);
    expect(accepted.status).toBe(200);
    expect(canonicalJson(accepted.json.metadata)).toBe(canonicalJson(JSON.parse(nested(31))));
    expect(canonicalJson((await get(accepted.json.id)).json.metadata)).toBe(canonicalJson(JSON.parse(nested(31))));
    expectValidationError(await postText(`{"model":"${V16}","prompt":"deep","metadata":${nested(32)}}`), `metadata.k${'[0]'.repeat(30)}`, /32 levels/);
  });
});

describe('text that is not what was sent', () => {
  it('refuses a body that is not UTF-8 with a 400 naming the body instead of storing U+FFFD', async () => {
    // "café" in Latin-1: the é is the lone byte 0xe9.
    const latin1 = Buffer.concat([Buffer.from(`{"model":"${V16}","prompt":"caf`), Buffer.from([0xe9]), Buffer.from('"}')]);
    expectValidationError(await postBytes(latin1), 'body', /UTF-8/);
    // Without a valid key the answer stays 401: the key is checked before the body.
    expect((await postBytes(latin1, { authorization: 'Bearer rk_wrong_key_0123456789' })).status).toBe(401);
  });

  it('refuses a prompt with a lone surrogate escape with a 400 naming prompt, and keeps a surrogate pair exactly', async () => {
    expectValidationError(await postText(`{"model":"${V16}","prompt":"A fox \\ud83e"}`), 'prompt', /lone surrogate/);
    const paired = await postText(`{"model":"${V16}","prompt":"A fox \\ud83e\\udd8a"}`);
    expect(paired.status).toBe(200);
    expect(paired.json.prompt).toBe('A fox \u{1F98A}');
  });

  it('decodes a base64 body in the Lambda handler (API Gateway\'s isBase64Encoded) without replacing bytes', async () => {
    // Imported once the stack has set the environment the handler reads at import.
    const { handler } = (await import('../../functions/api/handler.js')) as { handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> };
    const event = (body: Buffer): APIGatewayProxyEventV2 =>
      ({
        version: '2.0',
        routeKey: '$default',
        rawPath: PATH,
        rawQueryString: '',
        headers: { authorization: `Bearer ${fixture.stack.apiKey}`, 'content-type': 'application/json' },
        body: body.toString('base64'),
        isBase64Encoded: true,
        requestContext: { http: { method: 'POST', path: PATH } },
      }) as unknown as APIGatewayProxyEventV2;
    const invalid = await handler(event(Buffer.from([...Buffer.from(`{"model":"${V16}","prompt":"caf`), 0xe9, ...Buffer.from('"}')])));
    expectValidationError({ status: invalid.statusCode ?? 0, json: JSON.parse(invalid.body ?? '') }, 'body', /UTF-8/);
    const valid = await handler(event(Buffer.from(`{"model":"${V16}","prompt":"café"}`, 'utf8')));
    expect(valid.statusCode).toBe(200);
    expect(JSON.parse(valid.body ?? '').prompt).toBe('café');
  });
});
