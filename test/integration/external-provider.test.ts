/**
 * `reelhook dev` with AIMLAPI_KEY and AIMLAPI_BASE_URL set talks to that server, not
 * to its built-in simulator: any server that behaves like the seeds' API completes
 * generations and gets verified webhooks delivered. Here the "external" provider is a
 * simulator started by the test, with its own key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let provider: ProviderSimulator;
let receiver: WebhookReceiver;
let dev: DevProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-external-'));
  provider = await startProviderSimulator({ apiKey: 'external-provider-key', processingSeconds: 0.5 });
  receiver = await startWebhookReceiver();
  dev = await startDevProcess({
    AIMLAPI_KEY: 'external-provider-key',
    AIMLAPI_BASE_URL: provider.baseUrl,
    REELHOOK_DATA_DIR: dataDir,
    REELHOOK_WAIT_SCALE: '0',
  });
});

afterAll(async () => {
  dev?.child.kill('SIGTERM');
  await dev?.exited;
  await provider?.close();
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('completes a generation against the configured provider and delivers a verified webhook', async () => {
  expect(dev.output()).toContain(provider.baseUrl);
  const created = await api(dev.url, 'POST', '/v2/video/generations', {
    apiKey: dev.apiKey,
    body: { model: 'kling-video/v1/standard/text-to-video', prompt: 'A lighthouse at dusk', callback_url: `${receiver.url}/hook` },
  });
  expect(created.status).toBe(200);
  const done = await waitFor(async () => {
    const { json } = await api(dev.url, 'GET', `/v2/video/generations/${created.json.id}`, { apiKey: dev.apiKey });
    return json.status === 'completed' || json.status === 'error' ? json : undefined;
  }, 30_000);
  expect(done.status).toBe('completed');
  expect(provider.counters.creates).toBe(1);
  expect(provider.counters.downloads).toBeGreaterThanOrEqual(1);

  const hook = await waitFor(() => receiver.received[0], 15_000);
  const event = new Webhook(dev.webhookSecret).verify(hook.body, hook.headers) as Record<string, any>;
  expect(event).toMatchObject({ type: 'generation.completed', data: { id: created.json.id, status: 'completed' } });
});

it('stops cleanly on SIGTERM', async () => {
  dev.child.kill('SIGTERM');
  expect(await dev.exited).toBe(0);
});
