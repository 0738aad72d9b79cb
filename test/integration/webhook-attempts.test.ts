/**
 * The attempt protocol of Notify Callback against dynalite and a real receiver: each
 * attempt is counted before it is sent and its result logged after, so a run that stops
 * after sending is still counted; a "retry now" run and the scheduled run never make the
 * same attempt. The notify code runs with its real store and delivery; faults are
 * injected around the delivery.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { newId, webhookIdFor } from '#shared/records/ids.js';
import { MAX_LOGGED_ATTEMPTS, newGenerationItem, toPublicGeneration, UNRECORDED_RESULT, type GenerationItem } from '#shared/records/record.js';
import { IN_FLIGHT_GRACE_MS } from '#shared/webhooks/attempt-plan.js';
import { DeliveryAttemptStore } from '#shared/webhooks/attempt-store.js';
import { deliverWebhook, type DeliveryRequest, type DeliveryResult } from '#shared/webhooks/delivery.js';
import { callbackFor, notificationOf, type RetryNowInput } from '#shared/webhooks/notification.js';
import { notifyCallback, type NotifyDeps } from '../../functions/notify/deliver-attempt.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let stack: LocalStack;
let receiver: WebhookReceiver;
let dataDir: string;
let store: GenerationStore;
let deps: NotifyDeps;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-attempts-'));
  receiver = await startWebhookReceiver();
  stack = await startLocalStack({ dataDir, waitScale: 1, simulator: { processingSeconds: 0.2 } });
  const db = createDocumentClient();
  store = new GenerationStore(db, stack.names.tableName);
  deps = {
    store,
    attempts: new DeliveryAttemptStore(db, stack.names.tableName),
    keys: new ApiKeyStore(db, stack.names.tableName),
    presign: async () => null,
    deliver: deliverWebhook,
    policy: 'local',
    waitScale: 1,
    logger: new Logger({ logLevel: 'SILENT' }),
  };
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A failed generation whose generation.failed delivery is pending, with no attempt made yet. */
async function pendingDelivery(path: string): Promise<{ item: GenerationItem; input: RetryNowInput }> {
  const now = new Date();
  const queued = newGenerationItem({
    id: newId('gen', now.getTime()),
    owner: stack.keyId,
    now,
    request: {
      model: 'kling-video/v1.6/standard/text-to-video',
      prompt: 'A kite over dunes',
      params: { duration: 5 },
      metadata: {},
      callback_url: `${receiver.url}${path}`,
      callback_events: ['generation.completed', 'generation.failed'],
      timeout_seconds: 3600,
    },
  });
  await store.create(queued);
  const item = (await store.markFailed(queued.id, { name: 'ProviderFailed', message: 'no' }, callbackFor(queued, 'generation.failed'), now.toISOString()))!;
  return { item, input: { generation_id: item.id, notification: notificationOf(item) } };
}

const hooks = (path: string) => receiver.received.filter((hook) => hook.path === path);
const publicCallback = async (id: string) => toPublicGeneration((await store.get(id))!, null).callback;
const retryNow = (input: RetryNowInput, after: number): RetryNowInput => ({ ...input, notification: { ...input.notification, retry_now_after: after } });

describe('counting attempts', () => {
  it('counts an attempt that was sent although its run stopped before recording the answer', async () => {
    const { item, input } = await pendingDelivery('/crash');
    receiver.respondWith.push(200);
    const crashAfterSend = async (request: DeliveryRequest): Promise<DeliveryResult> => {
      await deliverWebhook(request);
      throw new Error('Runtime exited: the notify step stopped after sending');
    };
    await expect(notifyCallback({ ...deps, deliver: crashAfterSend }, input)).rejects.toThrow(/stopped after sending/);
    // The step's retry runs it again: the receiver gets the event a second time.
    expect(await notifyCallback(deps, input)).toEqual({ done: true });

    expect(hooks('/crash')).toHaveLength(2);
    expect(new Set(hooks('/crash').map((hook) => hook.headers['webhook-id']))).toEqual(new Set([webhookIdFor(item.id, 'generation.failed')]));
    const callback = await publicCallback(item.id);
    expect(callback).toMatchObject({ state: 'delivered', attempts: 2, last_status_code: 200, next_attempt_at: null });
    expect(callback.attempt_log).toEqual([
      expect.objectContaining({ attempt: 1, trigger: 'schedule', result: 'unknown', status_code: null, error: UNRECORDED_RESULT }),
      expect.objectContaining({ attempt: 2, trigger: 'schedule', result: 'delivered', status_code: 200, duration_ms: expect.any(Number), error: null }),
    ]);
  });

  it('logs each attempt with its time, status code, duration and error, and the next attempt time while pending', async () => {
    const { item, input } = await pendingDelivery('/log');
    receiver.respondWith.push(500);
    const before = Date.now();
    const plan = await notifyCallback(deps, input);
    expect(plan.done).toBe(false);
    const callback = await publicCallback(item.id);
    expect(callback).toMatchObject({ state: 'pending', attempts: 1, last_status_code: 500, next_attempt_at: plan.next_attempt_at });
    // Attempt 2 comes 5 s (plus up to 10 % jitter) after attempt 1.
    const next = Date.parse(callback.next_attempt_at!);
    expect(next).toBeGreaterThanOrEqual(before + 5_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 6_500);
    const [entry] = callback.attempt_log;
    expect(entry).toEqual({ attempt: 1, at: expect.any(String), trigger: 'schedule', result: 'failed', status_code: 500, duration_ms: expect.any(Number), error: 'receiver answered 500' });
    expect(Date.parse(entry!.at)).toBeGreaterThanOrEqual(before - 1);
  });

  it(`keeps only the latest ${MAX_LOGGED_ATTEMPTS} attempts in the record`, async () => {
    const { item, input } = await pendingDelivery('/many');
    const failing = async (): Promise<DeliveryResult> => ({ delivered: false, statusCode: 503, retryAfterSeconds: null, refused: false, failure: 'receiver answered 503' });
    // Each run is due: the clock is moved to the recorded next attempt; a spent schedule is reopened (a redelivery).
    let clock = Date.now();
    for (let run = 0; run < MAX_LOGGED_ATTEMPTS + 5; run++) {
      const record = (await store.get(item.id))!;
      if (record.callback.state === 'failed') await store.reopenCallback(item.id, input.notification.webhook_id, new Date(clock).toISOString());
      if (record.callback.next_attempt_at) clock = Date.parse(record.callback.next_attempt_at);
      await notifyCallback({ ...deps, deliver: failing, now: () => clock }, input);
    }
    const record = (await store.get(item.id))!;
    expect(record.callback.attempts).toBe(MAX_LOGGED_ATTEMPTS + 5);
    const log = toPublicGeneration(record, null).callback.attempt_log;
    expect(log.map((entry) => entry.attempt)).toEqual(Array.from({ length: MAX_LOGGED_ATTEMPTS }, (_, i) => i + 6));
  });
});

describe('retry now beside the schedule', () => {
  it('makes the next attempt at once; the scheduled run then finds it delivered and sends nothing', async () => {
    const { item, input } = await pendingDelivery('/fixed');
    receiver.respondWith.push(500);
    const scheduled = await notifyCallback(deps, input);
    expect(scheduled.done).toBe(false);

    expect(await notifyCallback(deps, retryNow(input, 1))).toEqual({ done: true });
    expect((await publicCallback(item.id)).attempt_log.map((entry) => [entry.attempt, entry.trigger, entry.result])).toEqual([
      [1, 'schedule', 'failed'],
      [2, 'retry_now', 'delivered'],
    ]);
    // The scheduled loop wakes at its planned time.
    expect(await notifyCallback({ ...deps, now: () => Date.parse(scheduled.next_attempt_at!) }, input)).toEqual({ done: true });
    expect(hooks('/fixed')).toHaveLength(2);
    expect(await publicCallback(item.id)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('keeps the schedule going after a retry-now attempt fails: the scheduled run waits for the attempt after it', async () => {
    const { item, input } = await pendingDelivery('/still-broken');
    receiver.respondWith.push(500, 500, 500);
    const first = await notifyCallback(deps, input);
    const second = await notifyCallback({ ...deps, now: () => Date.parse(first.next_attempt_at!) }, input);
    expect(second.done).toBe(false);

    expect(await notifyCallback(deps, retryNow(input, 2))).toEqual({ done: true });
    const afterRetry = await publicCallback(item.id);
    expect(afterRetry).toMatchObject({ state: 'pending', attempts: 3, last_status_code: 500 });
    // After a third failure the schedule waits 30 min (plus jitter) from that attempt.
    const planned = Date.parse(afterRetry.next_attempt_at!);
    expect(planned - Date.parse(afterRetry.attempt_log[2]!.at)).toBeGreaterThanOrEqual(1_800_000);

    // The scheduled loop wakes at its old time (5 min after attempt 2), sends nothing and waits for the new one.
    const woke = await notifyCallback({ ...deps, now: () => Date.parse(second.next_attempt_at!) }, input);
    expect(woke).toEqual({ done: false, next_attempt_at: afterRetry.next_attempt_at });
    expect(hooks('/still-broken')).toHaveLength(3);
    // At that time it makes attempt 4.
    expect(await notifyCallback({ ...deps, now: () => planned }, input)).toEqual({ done: true });
    expect(hooks('/still-broken')).toHaveLength(4);
    expect(await publicCallback(item.id)).toMatchObject({ state: 'delivered', attempts: 4 });
  });

  it('sends once when two retry-now runs for the same attempt race', async () => {
    const { item, input } = await pendingDelivery('/twice');
    receiver.respondWith.push(500);
    await notifyCallback(deps, input);
    const plans = await Promise.all([notifyCallback(deps, retryNow(input, 1)), notifyCallback(deps, retryNow(input, 1))]);
    expect(plans).toEqual([{ done: true }, { done: true }]);
    expect(hooks('/twice')).toHaveLength(2);
    expect(await publicCallback(item.id)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('lets a retry-now attempt in flight finish before the scheduled run decides', async () => {
    const { item, input } = await pendingDelivery('/slow');
    receiver.respondWith.push(500);
    await notifyCallback(deps, input);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let sent!: () => void;
    const inFlight = new Promise<void>((resolve) => (sent = resolve));
    const slow = async (request: DeliveryRequest): Promise<DeliveryResult> => {
      sent();
      await gate;
      return deliverWebhook(request);
    };
    const retrying = notifyCallback({ ...deps, deliver: slow }, retryNow(input, 1));
    await inFlight;

    // The scheduled run wakes a second after the retry-now attempt was sent.
    const startedAt = Date.parse((await publicCallback(item.id)).attempt_log[1]!.at);
    const scheduled = await notifyCallback({ ...deps, now: () => startedAt + 1_000 }, input);
    expect(scheduled.done).toBe(false);
    expect(Date.parse(scheduled.next_attempt_at!)).toBeGreaterThanOrEqual(startedAt + IN_FLIGHT_GRACE_MS);
    expect((await publicCallback(item.id)).attempt_log[1]).toMatchObject({ result: 'in_progress', trigger: 'retry_now' });

    release();
    expect(await retrying).toEqual({ done: true });
    expect(hooks('/slow')).toHaveLength(2);
    expect(await publicCallback(item.id)).toMatchObject({ state: 'delivered', attempts: 2 });
  });
});
