import { type IncomingHttpHeaders, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderRateLimited, ProviderRejected, ProviderUnavailable } from '#shared/errors.js';
import { parseGenerationRequest } from '#shared/generations/request.js';
import { ProviderClient } from '#shared/provider/client.js';

const API_KEY = 'sk-test-0123456789abcdef-secret';
const V16 = 'kling-video/v1.6/standard/text-to-video';

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = (response: ServerResponse, request: SeenRequest) => void;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
}

function providerError(status: number, message: string | string[]): Reply {
  return json(status, {
    message,
    path: '/v2/video/generations',
    requestId: 'req-123',
    statusCode: status,
    timestamp: new Date(0).toISOString(),
  });
}

let server: Server;
let baseUrl: string;
let reply: Reply;
let seen: SeenRequest[];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const record = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(record);
      reply(response, record);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // The timeout test leaves a request unanswered on purpose.
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  reply = json(200, { id: 'prov-1', status: 'queued' });
});

/** Waits out 429s instantly: the tests about those waits build their own client. */
function client(timeoutMs?: number): ProviderClient {
  return new ProviderClient({ baseUrl, apiKey: API_KEY, waitScale: 0, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('the call succeeded');
}

const create = () => client().createGeneration({ model: V16, prompt: 'a cat', params: { duration: 5 } });

describe('ProviderClient.createGeneration', () => {
  it('posts model, prompt and params as JSON with bearer auth and returns the job', async () => {
    reply = json(200, { id: 'prov-1', status: 'queued', extra: true });
    const job = await client().createGeneration({
      model: V16,
      prompt: 'a cat',
      params: { duration: 10, aspect_ratio: '9:16' },
    });
    expect(job).toEqual({ id: 'prov-1', status: 'queued' });
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v2/video/generations');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.accept).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      model: V16,
      prompt: 'a cat',
      duration: 10,
      aspect_ratio: '9:16',
    });
  });

  it('sends a duration given as the string "10" as the integer 10 after request parsing', async () => {
    const request = parseGenerationRequest({ model: V16, prompt: 'a cat', duration: '10' });
    await client().createGeneration(request);
    const sent = JSON.parse(seen[0]?.body ?? '') as Record<string, unknown>;
    expect(sent.duration).toBe(10);
    expect(sent.aspect_ratio).toBe('16:9');
  });

  it('accepts a 201 answer and a base URL with a path prefix and trailing slash', async () => {
    reply = json(201, { id: 'prov-2', status: 'generating' });
    const prefixed = new ProviderClient({ baseUrl: `${baseUrl}/proxy/`, apiKey: API_KEY });
    await expect(prefixed.createGeneration({ model: V16, prompt: 'a cat', params: {} })).resolves.toEqual({
      id: 'prov-2',
      status: 'generating',
    });
    expect(seen[0]?.url).toBe('/proxy/v2/video/generations');
  });

  it('never lets params replace the model or the prompt', async () => {
    await client().createGeneration({ model: V16, prompt: 'a cat', params: { model: 'other', prompt: 'a dog' } });
    expect(JSON.parse(seen[0]?.body ?? '')).toMatchObject({ model: V16, prompt: 'a cat' });
  });
});

describe('ProviderClient.getGeneration', () => {
  it('gets the generation by id with bearer auth and maps a completed answer', async () => {
    reply = json(200, {
      id: 'prov-1',
      status: 'completed',
      video: { url: 'https://cdn.aimlapi.com/flamingo/files/b/output.mp4' },
      error: null,
      meta: { usage: { credits_used: 120 } },
    });
    await expect(client().getGeneration('prov/1&x')).resolves.toEqual({
      id: 'prov-1',
      status: 'completed',
      video_url: 'https://cdn.aimlapi.com/flamingo/files/b/output.mp4',
      error: null,
      credits_used: 120,
    });
    const [request] = seen;
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe('/v2/video/generations?generation_id=prov%2F1%26x');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.body).toBe('');
  });

  it('maps a pending answer without video, error or meta to nulls', async () => {
    reply = json(200, { id: 'prov-1', status: 'generating' });
    await expect(client().getGeneration('prov-1')).resolves.toEqual({
      id: 'prov-1',
      status: 'generating',
      video_url: null,
      error: null,
      credits_used: null,
    });
  });

  it('passes an unknown status through', async () => {
    reply = json(200, { id: 'prov-1', status: 'waiting', video: null, meta: { usage: null } });
    expect((await client().getGeneration('prov-1')).status).toBe('waiting');
  });

  it('keeps the name and message of a provider error', async () => {
    reply = json(200, { id: 'prov-1', status: 'error', error: { name: 'GenerationFailed', message: 'NSFW prompt' } });
    expect((await client().getGeneration('prov-1')).error).toEqual({
      name: 'GenerationFailed',
      message: 'NSFW prompt',
    });
  });
});

describe('ProviderClient errors', () => {
  it('maps a 400 with an array message to ProviderRejected keeping every message', async () => {
    reply = providerError(400, ['duration must be one of 5, 10', 'prompt should not be empty']);
    const error = await failureOf(create());
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error.name).toBe('ProviderRejected');
    expect(error.message).toContain('(400)');
    expect(error.message).toContain('duration must be one of 5, 10; prompt should not be empty');
    expect((error as ProviderRejected).details).toEqual({ statusCode: 400, requestId: 'req-123' });
  });

  it('maps a 403 to ProviderRejected that says the account is out of credits', async () => {
    reply = providerError(403, 'Forbidden');
    const error = await failureOf(create());
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error.message).toContain('403');
    expect(error.message).toContain('out of credits');
    expect(error.message).toContain('Forbidden');
  });

  it('maps a 401 to ProviderRejected about the provider key', async () => {
    reply = providerError(401, 'Unauthorized');
    const error = await failureOf(client().getGeneration('prov-1'));
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error.message).toContain('provider key (401)');
  });

  it('waits out a 429 as Retry-After asks, then returns the answer', async () => {
    const answers = [json(429, { message: 'Too many requests' }, { 'retry-after': '1' }), json(200, { id: 'prov-2', status: 'queued' })];
    reply = (response, request) => answers.shift()!(response, request);
    const rateLimited = new ProviderClient({ baseUrl, apiKey: API_KEY, waitScale: 0.05 });
    const started = Date.now();
    const job = await rateLimited.createGeneration({ model: V16, prompt: 'a cat', params: {} });
    expect(job).toEqual({ id: 'prov-2', status: 'queued' });
    expect(seen).toHaveLength(2);
    // 1 s scaled by 0.05: the wait happened, and it was scaled.
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('throws ProviderRateLimited with Retry-After once its retries are spent', async () => {
    reply = json(429, { message: 'Too many requests' }, { 'retry-after': '7' });
    const error = await failureOf(create());
    expect(error).toBeInstanceOf(ProviderRateLimited);
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error.name).toBe('ProviderUnavailable');
    expect((error as ProviderRateLimited).retryAfterSeconds).toBe(7);
    expect(error.message).toContain('429');
    // The first answer and two retries (7 s + 7 s fit the 20 s budget).
    expect(seen).toHaveLength(3);
  });

  it('leaves a Retry-After longer than its wait budget to the state machine at once', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    reply = json(429, { message: 'slow down' }, { 'retry-after': at });
    const error = (await failureOf(client().getGeneration('prov-1'))) as ProviderRateLimited;
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(61);
    expect(seen).toHaveLength(1);
  });

  it('waits a fallback time after a 429 without Retry-After and reports a null retryAfterSeconds', async () => {
    reply = json(429, { message: 'slow down' });
    const error = (await failureOf(new ProviderClient({ baseUrl, apiKey: API_KEY, waitScale: 0, maxRateLimitRetries: 1 }).getGeneration('prov-1'))) as ProviderRateLimited;
    expect(error.retryAfterSeconds).toBeNull();
    expect(seen).toHaveLength(2);
  });

  it('maps a 500 to ProviderUnavailable naming the status code without the query string', async () => {
    reply = (response) => {
      response.writeHead(500, { 'content-type': 'text/html' });
      response.end('<h1>Internal Server Error</h1>');
    };
    const error = await failureOf(client().getGeneration('secret-generation-id'));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error).not.toBeInstanceOf(ProviderRateLimited);
    expect(error.message).toContain('answered 500');
    expect(error.message).toContain(`GET ${baseUrl}/v2/video/generations`);
    expect(error.message).not.toContain('generation_id');
    expect(error.message).not.toContain('secret-generation-id');
  });

  it('maps a 200 with malformed JSON to ProviderUnavailable saying invalid JSON', async () => {
    reply = (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"id": "prov-1", "status":');
    };
    const error = await failureOf(create());
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error.message).toContain('invalid JSON');
  });

  it.each([{ status: 'queued' }, { id: 'prov-1' }, { id: 7, status: 'queued' }, ['prov-1', 'queued']])(
    'maps the 200 answer %j without id and status to ProviderUnavailable',
    async (body) => {
      reply = json(200, body);
      const error = await failureOf(client().getGeneration('prov-1'));
      expect(error).toBeInstanceOf(ProviderUnavailable);
      expect(error.message).toContain('without a string id and status');
    },
  );

  it('maps a provider that never answers to ProviderUnavailable after timeoutMs', async () => {
    reply = () => {};
    const started = Date.now();
    const error = await failureOf(client(200).getGeneration('prov-1'));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error.message).toContain('timed out after 200ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('maps a refused connection to ProviderUnavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = new ProviderClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY });
    const error = await failureOf(unreachable.getGeneration('prov-1'));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error.message).toContain('failed');
  });

  it('does not follow a redirect that would carry the key elsewhere', async () => {
    reply = (response) => {
      response.writeHead(302, { location: `${baseUrl}/elsewhere` });
      response.end();
    };
    const error = await failureOf(create());
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(seen.map((request) => request.url)).toEqual(['/v2/video/generations']);
  });

  it('keeps the api key out of every error, even when the provider echoes it', async () => {
    const echoing: Reply[] = [
      (response, request) => providerError(400, `bad header ${request.headers.authorization}`)(response, request),
      (response, request) => providerError(403, [`key ${API_KEY} has no credits`])(response, request),
      (response, request) => json(429, { message: `slow down ${request.headers.authorization}` })(response, request),
      (response, request) => {
        response.writeHead(502);
        response.end(`upstream refused ${request.headers.authorization} for https://x.test/a?key=${API_KEY}`);
      },
      json(200, { id: 'prov-1' }),
      (response) => {
        response.writeHead(200);
        response.end(`not json ${API_KEY}`);
      },
      () => {},
    ];
    for (const echo of echoing) {
      reply = echo;
      const fast = client(200);
      const errors = await Promise.all([
        failureOf(fast.createGeneration({ model: V16, prompt: 'a cat', params: {} })),
        failureOf(fast.getGeneration('prov-1')),
      ]);
      for (const error of errors) {
        const everything = `${error.message} ${String(error)} ${JSON.stringify(error)} ${JSON.stringify((error as ProviderRejected).details ?? null)}`;
        expect(everything).not.toContain(API_KEY);
        expect(everything).not.toContain('?key=');
      }
    }
  });
});
