/**
 * The live log of `reelhook dev`, read from the real process's stdout: one line per API
 * request and per step of a generation, plain when stdout is not a terminal, and no secret
 * in it, even from a provider that echoes its key back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { startEchoProvider, type EchoProvider } from '../support/echo-provider.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const BANNER_END = 'Press Ctrl+C to stop.';

/** What dev printed after its banner: the live log. */
function liveLog(dev: DevProcess): string {
  const output = dev.output();
  return output.slice(output.indexOf(BANNER_END) + BANNER_END.length);
}

/** Stops dev (SIGTERM drains); SIGKILL when it does not end in time. */
async function stop(dev: DevProcess | undefined): Promise<void> {
  if (!dev || dev.child.exitCode !== null) return;
  dev.child.kill('SIGTERM');
  const timer = setTimeout(() => dev.child.kill('SIGKILL'), 20_000);
  await dev.exited;
  clearTimeout(timer);
}

/** Asserts that each pattern matches a line, each after the previous one's line; returns the lines matched. */
function expectInOrder(lines: string[], patterns: RegExp[]): string[] {
  const matched: string[] = [];
  let from = 0;
  for (const pattern of patterns) {
    const index = lines.findIndex((line, at) => at >= from && pattern.test(line));
    expect(index, `${pattern} after line ${from} of:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
    matched.push(lines[index] as string);
    from = index + 1;
  }
  return matched;
}

describe('a generation with a retried poll and a webhook that fails once', () => {
  let dataDir: string;
  let receiver: WebhookReceiver;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelhook-live-log-'));
    receiver = await startWebhookReceiver();
    dev = await startDevProcess({ REELHOOK_DATA_DIR: dataDir, REELHOOK_WAIT_SCALE: '0', REELHOOK_SIMULATOR_SECONDS: '0.5' });
  });

  afterAll(async () => {
    await stop(dev);
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('logs the request, each step in order, the retry with its error, the copy and both webhook attempts', async () => {
    const running = dev as DevProcess;
    receiver.respondWith.push(500);
    const created = await api(running.url, 'POST', '/v2/video/generations', {
      apiKey: running.apiKey,
      body: { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A lighthouse [sim:status-502*1]', callback_url: `${receiver.url}/hook` },
    });
    expect(created.status).toBe(200);
    const id = String(created.json.id);
    await api(running.url, 'GET', `/v2/video/generations?generation_id=${id}`, { apiKey: running.apiKey });
    await waitFor(() => (liveLog(running).includes(`${id}  execution succeeded`) ? true : undefined), 90_000, 100);
    expect(receiver.received.length).toBe(2);

    const lines = liveLog(running).split('\n').filter((line) => line.trim() !== '');
    const [post, get] = expectInOrder(lines, [
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  POST +/v2/video/generations 200 \\d+ ms  ${id}$`),
      new RegExp(`GET +/v2/video/generations 200 \\d+ ms  ${id}$`),
    ]);
    expect(post).toBeDefined();
    // The query is never printed, only the path.
    expect(get).not.toContain('generation_id=');

    const steps = lines.filter((line) => line.includes(`  ${id}  `)).map((line) => line.slice(line.indexOf(`${id}  `) + id.length + 2));
    expectInOrder(steps, [
      /^Wait For Provider Slot$/,
      /^Wait For Provider Slot: done after \d/,
      /^Submit Generation$/,
      /^Wait For Provider until \d\d:\d\d:\d\d/,
      /^Check Status$/,
      /^Check Status failed: ProviderUnavailable: AI\/ML API .*502/,
      /^Check Status retry #2 after ProviderUnavailable$/,
      /^Wait For Provider #2/,
      /^Check Status #2$/,
      /^Copy Video: copied [\d.]+ (B|KiB|MiB) in \d+(\.\d)? m?s$/,
      /^Record Completion$/,
      /^Notify Callback$/,
      /^webhook generation\.completed attempt 1: 500 in \d+ ms, next attempt \d\d:\d\d:\d\d/,
      /^Wait For Callback Retry until/,
      /^Notify Callback #2$/,
      /^webhook generation\.completed attempt 2: 200 in \d+ ms, delivered$/,
      /^execution succeeded in /,
    ]);

    const log = liveLog(running);
    expect(log).not.toContain(running.apiKey);
    expect(log).not.toContain(running.webhookSecret);
    // stdout is a pipe here: no colour codes.
    expect(log).not.toContain('\u001b[');
    // The handlers' JSON logs stay behind the log level.
    expect(log).not.toMatch(/"level":/);
  });
});

describe('a provider that echoes its key', () => {
  const PROVIDER_KEY = 'sk-echo-0123456789abcdef-live-log-secret';
  let dataDir: string;
  let provider: EchoProvider;
  let receiver: WebhookReceiver;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelhook-live-log-echo-'));
    receiver = await startWebhookReceiver();
    provider = await startEchoProvider(PROVIDER_KEY);
    dev = await startDevProcess({
      REELHOOK_DATA_DIR: dataDir,
      REELHOOK_WAIT_SCALE: '0',
      AIMLAPI_KEY: PROVIDER_KEY,
      AIMLAPI_BASE_URL: provider.baseUrl,
    });
  });

  afterAll(async () => {
    await stop(dev);
    await receiver?.close();
    await provider?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('logs the failure with its redacted cause and never the key, the API key or the webhook secret', async () => {
    const running = dev as DevProcess;
    const created = await api(running.url, 'POST', '/v2/video/generations', {
      apiKey: running.apiKey,
      body: { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'An echo', callback_url: `${receiver.url}/hook` },
    });
    expect(created.status).toBe(200);
    const id = String(created.json.id);
    await waitFor(() => (liveLog(running).includes(`${id}  execution failed`) ? true : undefined), 90_000, 100);

    const log = liveLog(running);
    expect(log).toMatch(new RegExp(`${id}  Check Status failed: ProviderFailed: .*\\[redacted\\]`));
    expect(log).toMatch(new RegExp(`${id}  webhook generation\\.failed attempt 1: 200`));
    expect(log).toMatch(new RegExp(`${id}  execution failed after .*: ProviderFailed`));
    expect(running.output()).not.toContain(PROVIDER_KEY);
    expect(log).not.toContain(running.apiKey);
    expect(log).not.toContain(running.webhookSecret);
  });
});

describe('dev --quiet with REELHOOK_LOG_LEVEL=info', () => {
  let dataDir: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelhook-live-log-quiet-'));
    dev = await startDevProcess({ REELHOOK_DATA_DIR: dataDir, REELHOOK_WAIT_SCALE: '0', REELHOOK_SIMULATOR_SECONDS: '0.5', REELHOOK_LOG_LEVEL: 'info' }, 60_000, ['--quiet']);
  });

  afterAll(async () => {
    await stop(dev);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints no live log, and the handlers\' JSON logs at the level asked for', async () => {
    const running = dev as DevProcess;
    const created = await api(running.url, 'POST', '/v2/video/generations', {
      apiKey: running.apiKey,
      body: { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A quiet lighthouse' },
    });
    const id = String(created.json.id);
    await waitFor(() => (liveLog(running).includes('"message":"video copied"') ? true : undefined), 90_000, 100);
    const log = liveLog(running);
    expect(log).toMatch(new RegExp(`"level":"INFO".*"generation_id":"${id}"`));
    expect(log).not.toMatch(/POST +\/v2\/video\/generations/);
    expect(log).not.toContain(`${id}  `);
  });
});
