/**
 * Cancel and webhook redelivery over real HTTP against the local stack, with a real
 * webhook receiver. Simulated generations take 30 s here, so a cancel always lands
 * while the provider is still working.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import type { BusEvent } from '../../local/eventbridge.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

let stack: LocalStack;
let receiver: WebhookReceiver;
let dataDir: string;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-cancel-'));
  receiver = await startWebhookReceiver();
  // A small wait scale: the provider is polled every few hundred ms instead of in a tight loop.
  stack = await startLocalStack({ dataDir, waitScale: 0.2, simulator: { processingSeconds: 30 } });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, path: string, options: { body?: unknown; key?: string } = {}) =>
  api(stack.url, method, path, { body: options.body, apiKey: options.key ?? stack.apiKey });

const executionArn = (name: string): string => `${stack.names.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

const deliveriesOf = (id: string) => receiver.received.filter((hook) => hook.json?.data?.id === id);

/** The events reelhook put on the local bus for generation `id`, from the data folder's log. */
async function busEventsOf(id: string): Promise<BusEvent[]> {
  const text = await readFile(join(dataDir, 'events.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BusEvent)
    .filter((event) => event.source === 'reelhook' && (event.detail as { id?: string }).id === id);
}

async function startGeneration(prompt: string, callbackPath: string | null): Promise<string> {
  const { status, json } = await call('POST', '/v2/video/generations', {
    body: { model: V16, prompt, ...(callbackPath ? { callback_url: `${receiver.url}${callbackPath}` } : {}) },
  });
  expect(status).toBe(200);
  return json.id;
}

async function waitForRecord(id: string, done: (record: any) => boolean): Promise<any> {
  return waitFor(async () => {
    const { json } = await call('GET', `/v2/video/generations/${id}`);
    return done(json) ? json : undefined;
  }, 20_000);
}

describe('DELETE /v2/video/generations/{id}', () => {
  it('cancels a generation mid-flight: error/Cancelled, execution stopped, generation.failed delivered', async () => {
    const id = await startGeneration('A long pan over mountains', '/cancelled');
    await waitForRecord(id, (record) => record.status === 'generating');
    const downloadsBefore = stack.simulator!.counters.downloads;

    const cancelled = await call('DELETE', `/v2/video/generations/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id, status: 'error', error: { name: 'Cancelled', message: 'cancelled by the caller' }, video: null });
    expect(cancelled.json.completed_at).toEqual(expect.any(String));

    const delivery = await waitFor(() => deliveriesOf(id)[0], 15_000);
    const verified = new Webhook(stack.webhookSecret).verify(delivery.body, delivery.headers) as Record<string, any>;
    expect(verified).toMatchObject({ type: 'generation.failed', data: { id, status: 'error', error: { name: 'Cancelled' } } });

    const settled = await waitForRecord(id, (record) => record.callback.state === 'delivered');
    expect(settled.status).toBe('error');
    // The provider's job is never followed to completion: the run was stopped, nothing was downloaded.
    expect(stack.engine.describeExecution(executionArn(id)).status).toBe('ABORTED');
    expect(settled.provider.status).not.toBe('completed');
    expect(stack.simulator!.counters.downloads).toBe(downloadsBefore);
    await waitFor(() => (stack.engine.describeExecution(executionArn(`${id}-cancel`)).status === 'RUNNING' ? undefined : true), 10_000);
    expect(stack.engine.describeExecution(executionArn(`${id}-cancel`)).status).toBe('FAILED');
  });

  it('publishes Video Generation Failed with the cancelled record before answering', async () => {
    const id = await startGeneration('A kite over the dunes', null);
    await waitForRecord(id, (record) => record.status === 'generating');

    const cancelled = await call('DELETE', `/v2/video/generations/${id}`);
    expect(cancelled.status).toBe(200);
    const failed = (await busEventsOf(id)).filter((event) => event['detail-type'] === 'Video Generation Failed');
    expect(failed[0]?.detail).toEqual(cancelled.json);
    expect(failed[0]?.detail).toMatchObject({ status: 'error', error: { name: 'Cancelled', message: 'cancelled by the caller' } });
  });

  it('answers 409 Conflict to a second cancel and to a finished generation', async () => {
    const id = await startGeneration('A snail crossing a leaf', null);
    expect((await call('DELETE', `/v2/video/generations/${id}`)).status).toBe(200);
    const again = await call('DELETE', `/v2/video/generations/${id}`);
    expect(again.status).toBe(409);
    expect(again.json.error.name).toBe('Conflict');

    const failed = await startGeneration('A storm [sim:status-error]', null);
    await waitForRecord(failed, (record) => record.status === 'error');
    const finished = await call('DELETE', `/v2/video/generations/${failed}`);
    expect(finished.status).toBe(409);
    expect(finished.json.error.name).toBe('Conflict');
  });
});

describe('POST /v2/video/generations/{id}/redeliver', () => {
  it('delivers the finished generation\'s webhook again with the same webhook-id', async () => {
    const id = await startGeneration('A squall at sea [sim:status-error]', '/redeliver');
    const first = await waitForRecord(id, (record) => record.callback.state === 'delivered');
    expect(first.callback.attempts).toBe(1);

    const redelivered = await call('POST', `/v2/video/generations/${id}/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.json.callback.state).toBe('pending');

    const [one, two] = await waitFor(() => (deliveriesOf(id).length >= 2 ? deliveriesOf(id) : undefined), 15_000);
    expect(two!.headers['webhook-id']).toBe(one!.headers['webhook-id']);
    const verified = new Webhook(stack.webhookSecret).verify(two!.body, two!.headers) as Record<string, any>;
    expect(verified).toMatchObject({ type: 'generation.failed', data: { id, status: 'error' } });
    const settled = await waitForRecord(id, (record) => record.callback.state === 'delivered' && record.callback.attempts === 2);
    expect(settled.callback.last_status_code).toBe(200);
  });

  it('answers 409 for a generation that has not finished or has no callback, and 404 for another key', async () => {
    const running = await startGeneration('A slow sunrise', '/never');
    const notFinished = await call('POST', `/v2/video/generations/${running}/redeliver`);
    expect(notFinished.status).toBe(409);
    expect(notFinished.json.error.name).toBe('Conflict');

    const silent = await startGeneration('A gust [sim:status-error]', null);
    await waitForRecord(silent, (record) => record.status === 'error');
    const noCallback = await call('POST', `/v2/video/generations/${silent}/redeliver`);
    expect(noCallback.status).toBe(409);

    const other = await new ApiKeyStore(createDocumentClient(), stack.names.tableName).issue('other team');
    const foreign = await call('POST', `/v2/video/generations/${silent}/redeliver`, { key: other.api_key });
    expect(foreign.status).toBe(404);
    await call('DELETE', `/v2/video/generations/${running}`);
  });
});
