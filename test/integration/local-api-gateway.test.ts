/**
 * The local stand-in for API Gateway over real HTTP on loopback: its own answers (the
 * API's 64 KiB body limit, read no further, a handler that never answered) use the contract's error shape.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../../functions/api/schemas.js';
import { startLocalHttpApi, type LocalHttpApi } from '../../local/api-gateway.js';

let api: LocalHttpApi;
let handled = 0;

beforeAll(async () => {
  api = await startLocalHttpApi(async (event) => {
    handled += 1;
    if (event.rawPath === '/boom') throw new Error('handler crashed with rk_secret_detail');
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true }) };
  });
});

afterAll(async () => {
  await api?.close();
});

async function post(path: string, body: string) {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

describe('local API Gateway', () => {
  it('answers a body over the API\'s 64 KiB limit with 413 PayloadTooLarge in the error shape, without calling the handler', async () => {
    const before = handled;
    const answer = await post('/v2/video/generations', 'x'.repeat(64 * 1024 + 1));
    expect(answer.status).toBe(413);
    expect(answer.contentType).toBe('application/json');
    const { error } = errorBodySchema.parse(JSON.parse(answer.text));
    expect(error).toMatchObject({ name: 'PayloadTooLarge', details: null });
    expect(error.message).toContain('65536');
    expect(handled).toBe(before);
  });

  it('stops reading at the limit: an unauthenticated upload still being sent gets its 413 at once', async () => {
    const before = handled;
    const { port } = new URL(api.url);
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v2/video/generations', headers: { 'content-type': 'application/json' } });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      // 65 KiB of a body that never ends: only a gateway that stops reading can answer.
      request.write('x'.repeat(65 * 1024));
    });
    expect(status).toBe(413);
    expect(handled).toBe(before);
  });

  it('passes a body of exactly 64 KiB to the handler', async () => {
    const answer = await post('/v2/video/generations', 'x'.repeat(64 * 1024));
    expect(answer.status).toBe(200);
  });

  it('answers a handler that throws with 500 InternalError in the error shape, no internals', async () => {
    const answer = await post('/boom', '{}');
    expect(answer.status).toBe(500);
    expect(answer.contentType).toBe('application/json');
    const { error } = errorBodySchema.parse(JSON.parse(answer.text));
    expect(error).toMatchObject({ name: 'InternalError', details: null });
    expect(answer.text).not.toContain('rk_secret_detail');
  });
});
