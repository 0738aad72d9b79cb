/**
 * Notify Callback: one delivery attempt of the recorded event. The attempt count and
 * the next attempt time live in the record and in the state machine, so a crash or a
 * restart loses no pending delivery; every attempt carries the same webhook-id.
 *
 * Only the event the record names is sent: a later event (generation.completed after
 * generation.started) replaces it, and a run still retrying the earlier one stops.
 */
import { ApiKeyStore } from '#shared/api-keys.js';
import { callbackPolicyFromEnv } from '#shared/callback-policy.js';
import { tableName } from '#shared/config.js';
import { createDocumentClient } from '#shared/dynamo.js';
import { GenerationStore } from '#shared/generation-store.js';
import { createLogger } from '#shared/logger.js';
import { recordCallbackAttempt, tracedHandler } from '#shared/observability.js';
import { waitScaleFromEnv, waitUntil } from '#shared/polling.js';
import { toPublicGeneration, type GenerationItem } from '#shared/record.js';
import { createS3Client } from '#shared/s3-client.js';
import { loadGeneration, type DeliveryPlan, type NotifyInput } from '#shared/steps.js';
import { presignVideoUrl } from '#shared/video-url.js';
import { deliverWebhook, nextRetryDelaySeconds, signingSecrets } from '#shared/webhook.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const keys = new ApiKeyStore(db, tableName());
const s3 = createS3Client();
const waitScale = waitScaleFromEnv();
const callbackPolicy = callbackPolicyFromEnv();
const logger = createLogger('notify');

export const handler = tracedHandler('notify', async (event: NotifyInput): Promise<DeliveryPlan> => {
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
    timestamp: eventTimestamp(item),
    data: toPublicGeneration(item, await presignVideoUrl(s3, item.video)),
  });
  const result = await deliverWebhook({
    url: callback.url,
    webhookId: callback.webhook_id,
    body,
    secrets: signingSecrets(key),
    policy: callbackPolicy,
  });
  recordCallbackAttempt(result.delivered);
  const attempts = callback.attempts + 1;
  const now = Date.now();
  const at = new Date(now).toISOString();
  // A refused target stays refused, and a 410 means "never again": neither is retried.
  const settled = result.delivered || result.gone || result.refused;
  const delay = settled ? null : nextRetryDelaySeconds(attempts, result.retryAfterSeconds);
  const state = result.delivered ? 'delivered' : delay === null ? 'failed' : 'pending';
  const attemptLog = { attempt: attempts, event_type: callback.event_type, status_code: result.statusCode, state, failure: result.failure };
  if (result.refused) logger.warn('webhook refused by the callback policy', { ...attemptLog, policy: callbackPolicy });
  else logger.info('webhook attempt', attemptLog);
  await store.recordCallbackAttempt(item.id, callback.webhook_id, { state, attempts, last_status_code: result.statusCode, last_attempt_at: at });
  return delay === null ? { done: true } : { done: false, next_attempt_at: waitUntil(delay, waitScale, now) };
});

/** When the delivered event happened: the provider's acceptance for `started`, the outcome otherwise. */
function eventTimestamp(item: GenerationItem): string {
  if (item.callback.event_type === 'generation.started') return item.timeline.provider_accepted ?? item.updated_at;
  return item.completed_at ?? item.updated_at;
}
