import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProviderSimulator, startProviderSimulator } from '../../local/simulator/server.js';
import { FIXTURE_PATH } from '../../local/simulator/video.js';

const API_KEY = 'sim-test-key-5f2c';
const V16 = 'kling-video/v1.6/standard/text-to-video';
const V1 = 'kling-video/v1/standard/text-to-video';
const GENERATIONS = '/v2/video/generations';
const LEGACY = '/v2/generate/video/kling/generation';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const POLL_INTERVAL_MS = 20;
const POLL_DEADLINE_MS = 5000;

interface StatusBody {
  id: string;
  status: string;
  video: { url: string } | null;
  error: { name: string; message: string } | null;
  meta: { usage: { credits_used: number } } | null;
}

interface ErrorBody {
  message: string;
  path: string;
  requestId: string;
  statusCode: number;
  timestamp: string;
}

const fixture = await readFile(FIXTURE_PATH);

/** Simulates slowly enough to observe each status. */
let timed: ProviderSimulator;
/** Finishes every generation at once, for tests that only need a finished one. */
let instant: ProviderSimulator;
/** Pads its videos to a size that differs from the fixture's. */
let padded: ProviderSimulator;
const PADDED_SIZE = fixture.length + 100_000;

beforeAll(async () => {
  [timed, instant, padded] = await Promise.all([
    startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0.3 }),
    startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0 }),
    startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0, videoSizeBytes: PADDED_SIZE }),
  ]);
});

afterAll(async () => {
  await Promise.all([timed?.close(), instant?.close(), padded?.close()]);
});

function postGeneration(
  simulator: ProviderSimulator,
  body: unknown,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${simulator.baseUrl}${options.path ?? GENERATIONS}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.headers ?? AUTH) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function createGeneration(simulator: ProviderSimulator, prompt: string): Promise<string> {
  const response = await postGeneration(simulator, { model: V16, prompt });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

function getStatus(
  simulator: ProviderSimulator,
  id: string,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const query = new URLSearchParams({ generation_id: id });
  return fetch(`${simulator.baseUrl}${options.path ?? GENERATIONS}?${query.toString()}`, {
    headers: options.headers ?? AUTH,
  });
}

/** Polls until the status is final, returning every body seen; bounded by a deadline. */
async function pollUntilFinished(simulator: ProviderSimulator, id: string): Promise<StatusBody[]> {
  const seen: StatusBody[] = [];
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (Date.now() < deadline) {
    const body = (await (await getStatus(simulator, id)).json()) as StatusBody;
    seen.push(body);
    if (body.status === 'completed' || body.status === 'error') return seen;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`generation ${id} did not finish within ${POLL_DEADLINE_MS} ms`);
}

async function finishedVideoUrl(simulator: ProviderSimulator, prompt: string): Promise<string> {
  const seen = await pollUntilFinished(simulator, await createGeneration(simulator, prompt));
  const url = seen.at(-1)?.video?.url;
  if (url === undefined) throw new Error('the generation finished without a video URL');
  return url;
}

/** Reads a body until it ends or the connection drops. */
async function readUntilClosed(response: Response): Promise<{ bytes: number; failed: boolean }> {
  const reader = response.body?.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) return { bytes, failed: false };
      bytes += chunk.value.length;
    }
  } catch {
    return { bytes, failed: true };
  }
}

function expectErrorBody(body: ErrorBody, statusCode: number, path: string): void {
  expect(Object.keys(body).sort()).toEqual([
    'message',
    'path',
    'requestId',
    'statusCode',
    'timestamp',
  ]);
  expect(body.statusCode).toBe(statusCode);
  expect(body.path).toBe(path);
  expect(body.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
}

describe('a generation', () => {
  it('is created queued with a provider-style id', async () => {
    const response = await postGeneration(timed, {
      model: V16,
      prompt: 'A cheerful white raccoon running through a sequoia forest',
      aspect_ratio: '16:9',
      duration: '5',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['id', 'status']);
    expect(body.id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(body.status).toBe('queued');
  });

  it('goes from queued through generating to completed and serves the fixture', async () => {
    const id = await createGeneration(timed, 'a cat surfing');
    const seen = await pollUntilFinished(timed, id);

    const order = ['queued', 'generating', 'completed'];
    const statuses = seen.map((body) => body.status);
    expect(statuses).toEqual([...statuses].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    expect(statuses).toContain('generating');
    for (const pending of seen.slice(0, -1)) {
      expect(pending).toEqual({ id, status: pending.status, video: null, error: null, meta: null });
    }

    const done = seen.at(-1);
    expect(done).toEqual({
      id,
      status: 'completed',
      video: { url: `${timed.baseUrl}/files/${id}/output.mp4` },
      error: null,
      meta: { usage: { credits_used: expect.any(Number) } },
    });

    const download = await fetch(done?.video?.url ?? '');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');
    expect(download.headers.get('accept-ranges')).toBe('bytes');
    expect(download.headers.get('content-length')).toBe(String(fixture.length));
    expect(Buffer.from(await download.arrayBuffer()).equals(fixture)).toBe(true);
  });

  it('is reachable through the legacy kling paths', async () => {
    const created = await postGeneration(
      instant,
      { model: V1, prompt: 'a dog', camera_control: 'forward_up' },
      { path: LEGACY },
    );
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    const status = await getStatus(instant, id, { path: LEGACY });
    expect(((await status.json()) as StatusBody).status).toBe('completed');
  });

  it('counts creates, status checks and downloads', async () => {
    const before = { ...instant.counters };
    const url = await finishedVideoUrl(instant, 'a counted cat');
    await (await fetch(url)).arrayBuffer();
    expect(instant.counters).toEqual({
      creates: before.creates + 1,
      statusChecks: before.statusChecks + 1,
      downloads: before.downloads + 1,
      rejectedCreates: 0,
    });
  });
});

describe('errors', () => {
  it('answers 401 without a key or with a wrong one, never echoing the key', async () => {
    const wrongKey = 'wrong-key-123';
    const responses = [
      await postGeneration(instant, { model: V16, prompt: 'a cat' }, { headers: {} }),
      await postGeneration(
        instant,
        { model: V16, prompt: 'a cat' },
        { headers: { authorization: `Bearer ${wrongKey}` } },
      ),
      await getStatus(instant, 'vn9XMO80UyV9BSq6K6G_O', { headers: {} }),
      await getStatus(instant, 'vn9XMO80UyV9BSq6K6G_O', { headers: { authorization: API_KEY } }),
    ];
    for (const response of responses) {
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(wrongKey);
      expectErrorBody(JSON.parse(text) as ErrorBody, 401, GENERATIONS);
    }
  });

  it.each([
    [{ model: V16, prompt: 'a cat', duration: 7 }, 'duration'],
    [{ model: V16, prompt: 'a cat', aspect_ratio: '4:3' }, 'aspect_ratio'],
    [{ model: V16, prompt: 'a cat', cfg_scale: 2 }, 'cfg_scale'],
    [{ model: V16, prompt: 'a cat', camera_control: 'down_back' }, 'camera_control'],
    [{ model: 'kling-video/v2/master', prompt: 'a cat' }, 'model'],
    [{ model: V16, prompt: '' }, 'prompt'],
  ])('answers 400 naming the bad field of %j', async (body, field) => {
    const response = await postGeneration(instant, body);
    expect(response.status).toBe(400);
    const error = (await response.json()) as ErrorBody;
    expectErrorBody(error, 400, GENERATIONS);
    expect(error.message).toContain(field);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const response = await postGeneration(instant, '{"model":');
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).message).toContain('JSON');
  });

  it('answers 400 to an unknown fault directive', async () => {
    const response = await postGeneration(instant, {
      model: V16,
      prompt: 'a cat [sim:status-503]',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).message).toContain('[sim:status-503]');
  });

  it('answers 400 to a status check without generation_id', async () => {
    const response = await fetch(`${instant.baseUrl}${GENERATIONS}`, { headers: AUTH });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).message).toContain('generation_id');
  });

  it('answers 404 to an unknown generation id', async () => {
    const response = await getStatus(instant, 'vn9XMO80UyV9BSq6K6G_O');
    expect(response.status).toBe(404);
    expectErrorBody((await response.json()) as ErrorBody, 404, GENERATIONS);
  });

  it('answers 404 to an unknown route', async () => {
    const response = await fetch(`${instant.baseUrl}/v2/images/generations`, { headers: AUTH });
    expect(response.status).toBe(404);
    expectErrorBody((await response.json()) as ErrorBody, 404, '/v2/images/generations');
  });

  it('answers 404 for the video of an unknown generation', async () => {
    const response = await fetch(`${instant.baseUrl}/files/vn9XMO80UyV9BSq6K6G_O/output.mp4`);
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });
});

describe('video downloads', () => {
  it('pads the video to the exact size and keeps the ftyp header', async () => {
    const response = await fetch(await finishedVideoUrl(padded, 'a padded cat'));
    expect(response.headers.get('content-length')).toBe(String(PADDED_SIZE));
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(PADDED_SIZE);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(bytes.subarray(0, fixture.length).equals(fixture)).toBe(true);
    expect(bytes.readUInt32BE(fixture.length)).toBe(PADDED_SIZE - fixture.length);
    expect(bytes.subarray(fixture.length + 4, fixture.length + 8).toString('latin1')).toBe('free');
  });

  it('answers single byte ranges with 206 and content-range', async () => {
    const url = await finishedVideoUrl(padded, 'a ranged cat');
    const cases = [
      ['bytes=0-7', 0, 8],
      [`bytes=${fixture.length - 4}-${fixture.length + 7}`, fixture.length - 4, fixture.length + 8],
      [`bytes=${PADDED_SIZE - 100}-`, PADDED_SIZE - 100, PADDED_SIZE],
      ['bytes=-16', PADDED_SIZE - 16, PADDED_SIZE],
    ] as const;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    for (const [range, start, end] of cases) {
      const response = await fetch(url, { headers: { range } });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(
        `bytes ${start}-${end - 1}/${PADDED_SIZE}`,
      );
      expect(response.headers.get('content-length')).toBe(String(end - start));
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.equals(whole.subarray(start, end))).toBe(true);
    }
  });

  it('answers 416 to a range past the end', async () => {
    const url = await finishedVideoUrl(instant, 'an unsatisfiable cat');
    const response = await fetch(url, { headers: { range: `bytes=${fixture.length}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${fixture.length}`);
  });

  it('streams a 1 GiB padded video without holding it in memory', async () => {
    const size = 1024 ** 3;
    const large = await startProviderSimulator({
      apiKey: API_KEY,
      processingSeconds: 0,
      videoSizeBytes: size,
    });
    try {
      const rssBefore = process.memoryUsage().rss;
      const response = await fetch(await finishedVideoUrl(large, 'a very long cat'));
      expect(response.headers.get('content-length')).toBe(String(size));
      const { bytes, failed } = await readUntilClosed(response);
      expect({ bytes, failed }).toEqual({ bytes: size, failed: false });
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 ** 2);
    } finally {
      await large.close();
    }
  }, 60_000);
});

describe('fault directives', () => {
  it.each([
    ['create-400', 400],
    ['create-403', 403],
    ['create-429', 429],
    ['create-500', 500],
  ])('[sim:%s] makes create answer %i with the error body', async (fault, statusCode) => {
    const response = await postGeneration(instant, { model: V16, prompt: `a cat [sim:${fault}]` });
    expect(response.status).toBe(statusCode);
    const body = (await response.json()) as ErrorBody;
    expectErrorBody(body, statusCode, GENERATIONS);
    if (fault === 'create-429') expect(response.headers.get('retry-after')).toBe('1');
    if (fault === 'create-403') expect(body.message).toMatch(/credits/);
  });

  it('counts a create fault per prompt, then accepts the request', async () => {
    const body = { model: V16, prompt: 'a patient cat [sim:create-429*2]' };
    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      statuses.push((await postGeneration(instant, body)).status);
    }
    expect(statuses).toEqual([429, 429, 200]);
  });

  it('[sim:status-502] answers 502 with a gateway page', async () => {
    const response = await getStatus(instant, await createGeneration(instant, '[sim:status-502]'));
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('502 Bad Gateway');
  });

  it('[sim:status-malformed] answers 200 with a body that is not JSON', async () => {
    const response = await getStatus(
      instant,
      await createGeneration(instant, '[sim:status-malformed]'),
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('[sim:status-unknown] reports the unknown pending status "waiting"', async () => {
    const id = await createGeneration(instant, '[sim:status-unknown]');
    const body = (await (await getStatus(instant, id)).json()) as StatusBody;
    expect(body).toEqual({ id, status: 'waiting', video: null, error: null, meta: null });
  });

  it('[sim:status-error] reports status error with its name and message', async () => {
    const id = await createGeneration(instant, '[sim:status-error]');
    const body = (await (await getStatus(instant, id)).json()) as StatusBody;
    expect(body).toEqual({
      id,
      status: 'error',
      video: null,
      error: { name: expect.any(String), message: expect.any(String) },
      meta: null,
    });
  });

  it('[sim:status-never] keeps reporting generating after the processing time', async () => {
    const neverId = await createGeneration(timed, 'a stuck cat [sim:status-never]');
    const controlId = await createGeneration(timed, 'a control cat');
    await pollUntilFinished(timed, controlId);
    const body = (await (await getStatus(timed, neverId)).json()) as StatusBody;
    expect(body).toEqual({
      id: neverId,
      status: 'generating',
      video: null,
      error: null,
      meta: null,
    });
  });

  it('[sim:status-no-url] reports completed without a video', async () => {
    const id = await createGeneration(instant, '[sim:status-no-url]');
    const body = (await (await getStatus(instant, id)).json()) as StatusBody;
    expect(body).toEqual({
      id,
      status: 'completed',
      video: null,
      error: null,
      meta: { usage: { credits_used: expect.any(Number) } },
    });
  });

  it('[sim:status-502*1] fails once, then reports the real status', async () => {
    const id = await createGeneration(instant, 'a cat [sim:status-502*1]');
    expect((await getStatus(instant, id)).status).toBe(502);
    const body = (await (await getStatus(instant, id)).json()) as StatusBody;
    expect(body.status).toBe('completed');
  });

  it('[sim:video-503] answers the download with 503', async () => {
    const response = await fetch(await finishedVideoUrl(instant, '[sim:video-503]'));
    expect(response.status).toBe(503);
    await response.arrayBuffer();
  });

  it('[sim:video-truncated] closes the connection after about half the bytes', async () => {
    const response = await fetch(await finishedVideoUrl(instant, '[sim:video-truncated]'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(fixture.length));
    const { bytes, failed } = await readUntilClosed(response);
    expect(failed).toBe(true);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(fixture.length);
  });

  it('[sim:video-html] answers 200 with an HTML page', async () => {
    const response = await fetch(await finishedVideoUrl(instant, '[sim:video-html]'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/^<!DOCTYPE html>/);
  });

  it('[sim:video-oversized] claims 3 GiB, sends a little, then closes', async () => {
    const response = await fetch(await finishedVideoUrl(instant, '[sim:video-oversized]'));
    expect(response.headers.get('content-length')).toBe(String(3 * 1024 ** 3));
    const { bytes, failed } = await readUntilClosed(response);
    expect(failed).toBe(true);
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('[sim:video-503*1] fails the first download only', async () => {
    const url = await finishedVideoUrl(instant, 'a cat [sim:video-503*1]');
    expect((await fetch(url)).status).toBe(503);
    const second = await fetch(url);
    expect(second.status).toBe(200);
    expect(Buffer.from(await second.arrayBuffer()).equals(fixture)).toBe(true);
  });

  it('leaves HEAD requests undisturbed and uncounted', async () => {
    const url = await finishedVideoUrl(instant, 'a cat [sim:video-503*1]');
    const downloads = instant.counters.downloads;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(fixture.length));
    expect(instant.counters.downloads).toBe(downloads);
    expect((await fetch(url)).status).toBe(503);
  });
});
