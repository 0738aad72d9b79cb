/**
 * Notify Callback: one delivery attempt of the recorded event. The attempt count and
 * the next attempt time live in the record and in the state machine, so a crash or a
 * restart loses no pending delivery; every attempt carries the same webhook-id.
 */
import { ApiKeyStore } from '#shared/api-keys.js';
import { tableName } from '#shared/config.js';
import { createDocumentClient } from '#shared/dynamo.js';
import { GenerationStore } from '#shared/generation-store.js';
import { createLogger } from '#shared/logger.js';
import { waitScaleFromEnv, waitUntil } from '#shared/polling.js';
import { toPublicGeneration } from '#shared/record.js';
import { createS3Client } from '#shared/s3-client.js';
import { loadGeneration, type DeliveryPlan, type NotifyInput } from '#shared/steps.js';
import { presignVideoUrl } from '#shared/video-url.js';
import { deliverWebhook, nextRetryDelaySeconds } from '#shared/webhook.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const keys = new ApiKeyStore(db, tableName());
const s3 = createS3Client();
const waitScale = waitScaleFromEnv();
const logger = createLogger('notify');

export const handler = async (event: NotifyInput): Promise<DeliveryPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  const item = await loadGeneration(store, event.generation_id);
  const callback = item.callback;
  if (callback.state !== 'pending' || !callback.url || callback.webhook_id !== event.notification.webhook_id) {
    return { done: true };
  }
  const key = await keys.getById(item.owner);
  if (!key) {
    logger.warn('the API key that owns this generation no longer exists; dropping its webhook');
    await store.recordCallbackAttempt(item.id, callback.webhook_id, { state: 'failed', attempts: callback.attempts, last_status_code: null, last_attempt_at: new Date().toISOString() });
    return { done: true };
  }

  const body = JSON.stringify({
    type: callback.event_type,
    timestamp: item.completed_at ?? item.updated_at,
    data: toPublicGeneration(item, await presignVideoUrl(s3, item.video)),
  });
  const result = await deliverWebhook({ url: callback.url, webhookId: callback.webhook_id, body, secrets: [key.webhook_secret] });
  const attempts = callback.attempts + 1;
  const now = Date.now();
  const at = new Date(now).toISOString();
  const delay = result.delivered || result.gone ? null : nextRetryDelaySeconds(attempts, result.retryAfterSeconds);
  const state = result.delivered ? 'delivered' : delay === null ? 'failed' : 'pending';
  logger.info('webhook attempt', { attempt: attempts, status_code: result.statusCode, state, failure: result.failure });
  await store.recordCallbackAttempt(item.id, callback.webhook_id, { state, attempts, last_status_code: result.statusCode, last_attempt_at: at });
  return delay === null ? { done: true } : { done: false, next_attempt_at: waitUntil(delay, waitScale, now) };
};
