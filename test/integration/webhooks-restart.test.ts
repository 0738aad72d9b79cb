/**
 * A pending webhook survives a crash: `reelhook dev` is killed (SIGKILL) while a
 * delivery waits for its next retry, started again on the same data folder, and the
 * delivery carries on from the recorded attempts with the same webhook-id.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let receiver: WebhookReceiver;
let dataDir: string;
const running: DevProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-restart-'));
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  for (const dev of running) {
    if (dev.child.exitCode === null) {
      dev.child.kill('SIGKILL');
      await dev.exited;
    }
  }
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

// 3/100 of real time: the retry after the second failure waits 300 s × 0.03 = 9 s, ample time to crash in
// (the restarted run attempts at once, so the test does not wait it out).
/** Each wait and each test get a budget that still holds on a machine several times slower than a quiet one. */
const WAIT_MS = 90_000;
const TEST_MS = 360_000;

const env = { REELHOOK_WAIT_SCALE: '0.03', REELHOOK_SIMULATOR_SECONDS: '0.3', REELHOOK_CALLBACK_POLICY: 'local' };

async function startDev(): Promise<DevProcess> {
  const dev = await startDevProcess({ ...env, REELHOOK_DATA_DIR: dataDir });
  running.push(dev);
  return dev;
}

const record = async (dev: DevProcess, id: string): Promise<Record<string, any>> =>
  (await api(dev.url, 'GET', `/v2/video/generations/${id}`, { apiKey: dev.apiKey })).json;

it('delivers a webhook whose retry was pending when the process was killed', async () => {
  receiver.respondWith.push(500, 500);
  const first = await startDev();
  const created = await api(first.url, 'POST', '/v2/video/generations', {
    apiKey: first.apiKey,
    body: { model: 'kling-video/v1/standard/text-to-video', prompt: 'A lantern in fog', callback_url: `${receiver.url}/hooks` },
  });
  expect(created.status).toBe(200);
  const id: string = created.json.id;

  // Two failed attempts recorded, results included (an attempt is counted before it is sent,
  // so `attempts === 2` alone can still be the second one in flight): the third is scheduled
  // about 9 s later.
  await waitFor(async () => {
    const { callback } = await record(first, id);
    const failed = (callback.attempt_log ?? []).filter((entry: Record<string, unknown>) => entry.result === 'failed');
    return callback.state === 'pending' && failed.length === 2 ? true : undefined;
  }, WAIT_MS);
  first.child.kill('SIGKILL');
  await first.exited;
  expect(receiver.received).toHaveLength(2);

  const second = await startDev();
  expect(second.output()).toMatch(/Resumed:\s+1 generation/);
  expect(second.webhookSecret).toBe(first.webhookSecret);
  const delivered = await waitFor(async () => {
    const json = await record(second, id);
    return json.callback.state === 'delivered' ? json : undefined;
  }, WAIT_MS);
  expect(delivered.status).toBe('completed');
  expect(delivered.callback).toMatchObject({ url: `${receiver.url}/hooks`, state: 'delivered', attempts: 3, last_status_code: 200 });
  expect(delivered.callback.attempt_log.map((entry: Record<string, unknown>) => entry.result)).toEqual(['failed', 'failed', 'delivered']);

  expect(receiver.received).toHaveLength(3);
  expect(new Set(receiver.received.map((hook) => hook.headers['webhook-id'])).size).toBe(1);
  for (const hook of receiver.received) {
    expect(new Webhook(second.webhookSecret).verify(hook.body, hook.headers)).toMatchObject({ type: 'generation.completed', data: { id } });
  }
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, TEST_MS);

it('counts the attempt that was being sent when the process was killed', async () => {
  receiver.respondWith.push('hang');
  const first = await startDev();
  const created = await api(first.url, 'POST', '/v2/video/generations', {
    apiKey: first.apiKey,
    body: { model: 'kling-video/v1/standard/text-to-video', prompt: 'A kettle on a stove', callback_url: `${receiver.url}/killed` },
  });
  expect(created.status).toBe(200);
  const id: string = created.json.id;
  const killedHooks = () => receiver.received.filter((hook) => hook.path === '/killed');

  // The receiver holds the first request: the process dies before it could record an answer.
  await waitFor(() => (killedHooks().length === 1 ? true : undefined), WAIT_MS);
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startDev();
  const delivered = await waitFor(async () => {
    const json = await record(second, id);
    return json.callback.state === 'delivered' ? json : undefined;
  }, WAIT_MS);
  expect(killedHooks()).toHaveLength(2);
  expect(delivered.callback).toMatchObject({ state: 'delivered', attempts: 2, last_status_code: 200 });
  expect(delivered.callback.attempt_log.map((entry: Record<string, unknown>) => entry.result)).toEqual(['unknown', 'delivered']);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, TEST_MS);
