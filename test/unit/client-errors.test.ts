/** The client's error mapping: each API error name becomes its own class, over a fetch that answers as the API does. */
import { describe, expect, it } from 'vitest';
import {
  Conflict,
  NetworkError,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  Reelhook,
  ReelhookError,
  Unauthorized,
  UnsupportedMediaType,
  ValidationError,
} from '../../client/index.js';

/** A client whose fetch answers every request with `status`, `body` and `headers`, recording what it was sent. */
function clientAnswering(status: number, body: unknown, headers: Record<string, string> = {}) {
  const sent: Request[] = [];
  const reelhook = new Reelhook({
    baseUrl: 'http://127.0.0.1:9/v2/',
    apiKey: 'rk_test_0123456789abcdef',
    fetch: async (input, init) => {
      sent.push(new Request(input, init));
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return new Response(text, { status, headers: { 'content-type': 'application/json', ...headers } });
    },
  });
  return { reelhook, sent };
}

const errorBody = (name: string, message: string, details: unknown = null) => ({ error: { name, message, details } });

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('the client maps API errors to classes', () => {
  it.each([
    [401, 'Unauthorized', Unauthorized],
    [404, 'NotFound', NotFound],
    [409, 'Conflict', Conflict],
    [413, 'PayloadTooLarge', PayloadTooLarge],
    [415, 'UnsupportedMediaType', UnsupportedMediaType],
  ] as const)('answers %i %s as an instance of its class, with status, name, message and details', async (status, name, type) => {
    const { reelhook } = clientAnswering(status, errorBody(name, `the ${name} message`, { hint: 1 }));
    const error = await failureOf(reelhook.get('gen_x'));
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(ReelhookError);
    expect(error).toMatchObject({ status, name, message: `the ${name} message`, details: { hint: 1 } });
  });

  it('gives a ValidationError the offending field and every issue', async () => {
    const issues = [
      { field: 'prompt', message: 'must not be empty' },
      { field: 'duration', message: 'must be 5 or 10' },
    ];
    const { reelhook } = clientAnswering(400, errorBody('ValidationError', 'prompt: must not be empty (and 1 more)', issues));
    const error = await failureOf(reelhook.create({ model: 'kling-video/v1.6/standard/text-to-video', prompt: '' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('prompt');
    expect((error as ValidationError).issues).toEqual(issues);
  });

  it('reads Retry-After of a RateLimited answer, in seconds', async () => {
    const { reelhook } = clientAnswering(429, errorBody('RateLimited', 'too many requests'), { 'retry-after': '17' });
    const error = await failureOf(reelhook.list());
    expect(error).toBeInstanceOf(RateLimited);
    expect((error as RateLimited).retryAfterSeconds).toBe(17);
  });

  it('keeps an unknown error name (InternalError) on the base class', async () => {
    const { reelhook } = clientAnswering(500, errorBody('InternalError', 'something went wrong on our side'));
    const error = await failureOf(reelhook.cancel('gen_x'));
    expect(error).toBeInstanceOf(ReelhookError);
    expect(error).not.toBeInstanceOf(NotFound);
    expect(error).toMatchObject({ status: 500, name: 'InternalError' });
  });

  it('names the status when the answer is not the API error shape (a proxy page)', async () => {
    const { reelhook } = clientAnswering(502, '<html>Bad Gateway</html>');
    const error = await failureOf(reelhook.get('gen_x'));
    expect(error).toMatchObject({ status: 502, name: 'HTTP502' });
    expect((error as Error).message).toContain('502');
  });

  it('fails with a NetworkError that never shows the API key when the server cannot be reached', async () => {
    const reelhook = new Reelhook({
      baseUrl: 'http://127.0.0.1:9',
      apiKey: 'rk_secret_0123456789abcdef',
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      },
    });
    const error = await failureOf(reelhook.get('gen_x'));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).not.toContain('rk_secret');
  });
});

describe('the client sends', () => {
  it('the bearer key, the JSON body and the Idempotency-Key to the /v2 path, whatever the base URL ends with', async () => {
    const { reelhook, sent } = clientAnswering(200, { id: 'gen_x' });
    await reelhook.create({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'a fox', duration: '5' }, { idempotencyKey: 'order-7' });
    const request = sent[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('http://127.0.0.1:9/v2/video/generations');
    expect(request.headers.get('authorization')).toBe('Bearer rk_test_0123456789abcdef');
    expect(request.headers.get('idempotency-key')).toBe('order-7');
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(await request.json()).toEqual({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'a fox', duration: '5' });
  });

  it('the list query, and an id encoded as one path segment', async () => {
    const { reelhook, sent } = clientAnswering(200, { data: [], next_cursor: null });
    await reelhook.list({ status: 'completed', limit: 5, cursor: 'abc=' });
    await reelhook.redeliver('gen/../x');
    expect(sent[0]!.url).toBe('http://127.0.0.1:9/v2/video/generations?status=completed&limit=5&cursor=abc%3D');
    expect(sent[1]!.url).toBe('http://127.0.0.1:9/v2/video/generations/gen%2F..%2Fx/redeliver');
  });
});
