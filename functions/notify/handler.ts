/**
 * Notify Callback: one delivery attempt of the recorded event, when one is due. The
 * attempt count, the attempt log and the next attempt time live in the record, and the
 * wait between attempts in the state machine, so a crash or a restart loses no pending
 * delivery; every attempt carries the same webhook-id.
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
import { waitScaleFromEnv } from '#shared/polling/bounds.js';
import { createS3Client } from '#shared/video/s3-client.js';
import type { DeliveryPlan } from '#shared/workflow/steps.js';
import { presignVideoUrl } from '#shared/video/url.js';
import { DeliveryAttemptStore } from '#shared/webhooks/attempt-store.js';
import { deliverWebhook } from '#shared/webhooks/delivery.js';
import type { RetryNowInput } from '#shared/webhooks/notification.js';
import { notifyCallback, type NotifyDeps } from './deliver-attempt.js';

const db = createDocumentClient();
const s3 = createS3Client();
const logger = createLogger('notify');
const deps: NotifyDeps = {
  store: new GenerationStore(db, tableName()),
  attempts: new DeliveryAttemptStore(db, tableName()),
  keys: new ApiKeyStore(db, tableName()),
  presign: (video) => presignVideoUrl(s3, video),
  deliver: deliverWebhook,
  onAttempt: (result) => recordCallbackAttempt(result.delivered),
  policy: callbackPolicyFromEnv(),
  waitScale: waitScaleFromEnv(),
  logger,
};

export const handler = tracedHandler('notify', async (event: RetryNowInput): Promise<DeliveryPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  return notifyCallback(deps, event);
});
