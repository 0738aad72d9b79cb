/**
 * Notify Callback: one delivery attempt of the recorded event. The attempt count and
 * the next attempt time live in the record and in the state machine, so a crash or a
 * restart loses no pending delivery; every attempt carries the same webhook-id.
 *
 * The record names the event it shows; an earlier event still pending when a later one
 * came (generation.started, then the outcome) is kept as `superseded`, and its own run
 * goes on retrying it there.
 */
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { callbackPolicyFromEnv } from '#shared/webhooks/callback-policy.js';
import { tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { recordCallbackAttempt, tracedHandler } from '#shared/runtime/observability.js';
import { waitScaleFromEnv, waitUntil } from '#shared/polling/bounds.js';
import { deliveryOf } from '#shared/webhooks/notification.js';
import { toPublicGeneration, type GenerationItem, type WebhookEventType } from '#shared/records/record.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { loadGeneration, type DeliveryPlan, type NotifyInput } from '#shared/workflow/steps.js';
import { presignVideoUrl } from '#shared/video/url.js';
import { deliverWebhook, signingSecrets } from '#shared/webhooks/delivery.js';
import { decideRetry } from '#shared/webhooks/retry-decision.js';

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
  const url = item.callback.url;
  const found = deliveryOf(item.callback, event.notification.webhook_id);
  const eventType = found?.delivery.event_type ?? null;
  if (url === null || found === null || found.delivery.state !== 'pending' || eventType === null) return { done: true };
  const { slot, delivery } = found;
  const webhookId = event.notification.webhook_id;
  const key = await keys.getById(item.owner);
  if (!key) {
    logger.warn('the API key that owns this generation no longer exists; dropping its webhook');
    await store.recordCallbackAttempt(item.id, webhookId, { state: 'failed', attempts: delivery.attempts, last_status_code: null, last_attempt_at: new Date().toISOString() }, slot);
    return { done: true };
  }

  const body = JSON.stringify({
    type: eventType,
    timestamp: eventTimestamp(item, eventType),
    data: toPublicGeneration(item, await presignVideoUrl(s3, item.video)),
  });
  const result = await deliverWebhook({
    url,
    webhookId,
    body,
    secrets: signingSecrets(key),
    policy: callbackPolicy,
  });
  recordCallbackAttempt(result.delivered);
  const attempts = delivery.attempts + 1;
  const now = Date.now();
  const at = new Date(now).toISOString();
  const { state, delaySeconds: delay } = decideRetry({ result, attempts });
  const attemptLog = { attempt: attempts, event_type: eventType, status_code: result.statusCode, state, failure: result.failure };
  if (result.refused) logger.warn('webhook refused by the callback policy', { ...attemptLog, policy: callbackPolicy });
  else logger.info('webhook attempt', attemptLog);
  await store.recordCallbackAttempt(item.id, webhookId, { state, attempts, last_status_code: result.statusCode, last_attempt_at: at }, slot);
  return delay === null ? { done: true } : { done: false, next_attempt_at: waitUntil(delay, waitScale, now) };
});

/** When the delivered event happened: the provider's acceptance for `started`, the outcome otherwise. */
function eventTimestamp(item: GenerationItem, eventType: WebhookEventType): string {
  if (eventType === 'generation.started') return item.timeline.provider_accepted ?? item.updated_at;
  return item.completed_at ?? item.updated_at;
}
