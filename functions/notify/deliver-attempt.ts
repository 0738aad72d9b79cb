/**
 * One run of Notify Callback: reads the delivery from the record, decides whether an
 * attempt is due ({@link planAttempt}), and if so counts it in the record before sending
 * and records its answer after ({@link DeliveryAttemptStore}). Every request a receiver
 * gets is counted, a crash included, and the scheduled loop and a "retry now" run never
 * make the same attempt.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { waitUntil } from '#shared/polling/bounds.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import { toPublicGeneration, type AttemptEntry, type GenerationItem, type StoredVideo, type WebhookEventType } from '#shared/records/record.js';
import { loadGeneration, type DeliveryPlan } from '#shared/workflow/steps.js';
import { planAttempt } from '#shared/webhooks/attempt-plan.js';
import type { AttemptTarget, DeliveryAttemptStore } from '#shared/webhooks/attempt-store.js';
import type { CallbackPolicy } from '#shared/webhooks/callback-policy.js';
import { signingSecrets, type DeliveryRequest, type DeliveryResult, type WebhookSigningKey } from '#shared/webhooks/delivery.js';
import { deliveryOf, type RetryNowInput } from '#shared/webhooks/notification.js';
import { decideRetry } from '#shared/webhooks/retry-decision.js';

export interface NotifyDeps {
  store: GenerationStore;
  attempts: Pick<DeliveryAttemptStore, 'begin' | 'finish'>;
  keys: { getById(keyId: string): Promise<WebhookSigningKey | null> };
  presign(video: StoredVideo | null): Promise<string | null>;
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
  /** Called once per answered attempt (the metrics). */
  onAttempt?(result: DeliveryResult): void;
  policy: CallbackPolicy;
  waitScale: number;
  logger: Logger;
  now?: () => number;
}

/** Longest error text kept per attempt: the messages are short, a host name is the longest part. */
const MAX_ERROR_CHARS = 300;

/** Runs beginning an attempt at the same moment: each conflict re-reads the record, a few times at most. */
const MAX_BEGIN_TRIES = 3;

class DeliveryContended extends Error {
  override readonly name = 'DeliveryContended';
}

export async function notifyCallback(deps: NotifyDeps, event: RetryNowInput): Promise<DeliveryPlan> {
  const now = deps.now ?? Date.now;
  const webhookId = event.notification.webhook_id;
  const retryNowAfter = event.notification.retry_now_after;
  for (let tries = 0; tries < MAX_BEGIN_TRIES; tries++) {
    const item = await loadGeneration(deps.store, event.generation_id);
    const url = item.callback.url;
    const found = deliveryOf(item.callback, webhookId);
    const eventType = found?.delivery.event_type ?? null;
    if (url === null || found === null || eventType === null) return { done: true };
    const plan = planAttempt({ delivery: found.delivery, now: now(), retryNowAfter });
    if (plan.action === 'done') return { done: true };
    if (plan.action === 'wait') return { done: false, next_attempt_at: waitUntil(0, 1, plan.until) };

    const { slot, delivery } = found;
    const key = await deps.keys.getById(item.owner);
    if (!key) {
      deps.logger.warn('the API key that owns this generation no longer exists; dropping its webhook');
      await deps.store.recordCallbackAttempt(item.id, webhookId, { state: 'failed', attempts: delivery.attempts, last_status_code: null, last_attempt_at: new Date(now()).toISOString() }, slot);
      return { done: true };
    }
    const entry: AttemptEntry = {
      attempt: delivery.attempts + 1,
      at: new Date(now()).toISOString(),
      trigger: retryNowAfter === undefined ? 'schedule' : 'retry_now',
      finished: false,
      delivered: false,
      status_code: null,
      duration_ms: null,
      error: null,
    };
    const target = { generationId: item.id, webhookId, slot };
    if (await deps.attempts.begin(target, entry, delivery.attempt_log !== undefined)) {
      return send(deps, { item, url, eventType, key, entry, target, retryNow: retryNowAfter !== undefined });
    }
    // Another run began this attempt first: a retry-now run has made it, a scheduled one
    // decides again from what that run recorded.
    if (retryNowAfter !== undefined) return { done: true };
  }
  throw new DeliveryContended(`the webhook ${webhookId} of generation ${event.generation_id} kept being attempted by another run`);
}

interface Attempt {
  item: GenerationItem;
  url: string;
  eventType: WebhookEventType;
  key: WebhookSigningKey;
  entry: AttemptEntry;
  target: AttemptTarget;
  retryNow: boolean;
}

async function send(deps: NotifyDeps, { item, url, eventType, key, entry, target, retryNow }: Attempt): Promise<DeliveryPlan> {
  const now = deps.now ?? Date.now;
  const body = JSON.stringify({
    type: eventType,
    timestamp: eventTimestamp(item, eventType),
    data: toPublicGeneration(item, await deps.presign(item.video)),
  });
  const startedAt = now();
  const result = await deps.deliver({ url, webhookId: target.webhookId, body, secrets: signingSecrets(key), policy: deps.policy, now: new Date(startedAt) });
  const answeredAt = now();
  deps.onAttempt?.(result);

  const decision = decideRetry({ result, attempts: entry.attempt });
  const nextAttemptAt = decision.delaySeconds === null ? null : waitUntil(decision.delaySeconds, deps.waitScale, answeredAt);
  const finished: AttemptEntry = {
    ...entry,
    finished: true,
    delivered: result.delivered,
    status_code: result.statusCode,
    duration_ms: answeredAt - startedAt,
    error: result.failure === null ? null : result.failure.slice(0, MAX_ERROR_CHARS),
  };
  const attemptLog = { attempt: entry.attempt, trigger: entry.trigger, event_type: eventType, status_code: result.statusCode, state: decision.state, failure: result.failure };
  if (result.refused) deps.logger.warn('webhook refused by the callback policy', { ...attemptLog, policy: deps.policy });
  else deps.logger.info('webhook attempt', attemptLog);

  const settled = await deps.attempts.finish(target, finished, { state: decision.state, nextAttemptAt, at: new Date(answeredAt).toISOString() });
  // A retry-now run makes one attempt; the schedule stays with the loop that was delivering.
  if (retryNow || decision.state === 'delivered') return { done: true };
  if (settled) return nextAttemptAt === null ? { done: true } : { done: false, next_attempt_at: nextAttemptAt };
  // A later attempt began meanwhile: wake when this one's retry would have come, and let
  // the plan read what that attempt recorded.
  return { done: false, next_attempt_at: nextAttemptAt ?? new Date(answeredAt).toISOString() };
}

/** When the delivered event happened: the provider's acceptance for `started`, the outcome otherwise. */
function eventTimestamp(item: GenerationItem, eventType: WebhookEventType): string {
  if (eventType === 'generation.started') return item.timeline.provider_accepted ?? item.updated_at;
  return item.completed_at ?? item.updated_at;
}
