/**
 * Which webhook event a generation delivers, shared by the create step (started), the
 * record step (a generation that ends in the workflow) and the API (cancel,
 * redelivery), so an event has one webhook-id and one shape whichever path made it.
 */
import { webhookIdFor } from '#shared/records/ids.js';
import type { CallbackInfo, DeliverySlot, GenerationItem, SupersededDelivery, WebhookEventType } from '#shared/records/record.js';
import type { Notification, NotifyInput } from '#shared/workflow/steps.js';

/**
 * The callback state once `eventType` happens. An event the caller asked for becomes the
 * delivery the record shows, pending with a fresh attempt count; an earlier event still
 * pending then moves to `superseded` and keeps its own retries. An event the caller did
 * not ask for changes nothing, so the record keeps showing the delivery that was made.
 */
export function callbackFor(item: GenerationItem, eventType: WebhookEventType): CallbackInfo {
  const current = item.callback;
  const wanted = current.url !== null && current.events.includes(eventType);
  if (!wanted) return current;
  const webhookId = webhookIdFor(item.id, eventType);
  const earlierPending = current.state === 'pending' && current.webhook_id !== null && current.webhook_id !== webhookId;
  return {
    ...current,
    state: 'pending',
    attempts: 0,
    last_status_code: null,
    last_attempt_at: null,
    attempt_log: {},
    next_attempt_at: null,
    webhook_id: webhookId,
    event_type: eventType,
    superseded: earlierPending ? supersededOf(current) : (current.superseded ?? null),
  };
}

function supersededOf({ webhook_id, event_type, state, attempts, last_status_code, last_attempt_at, attempt_log, next_attempt_at }: CallbackInfo): SupersededDelivery {
  return { webhook_id, event_type, state, attempts, last_status_code, last_attempt_at, attempt_log: attempt_log ?? {}, next_attempt_at: next_attempt_at ?? null };
}

/** The delivery of `webhookId` in the record, and where it is kept; null when the record has none. */
export function deliveryOf(callback: CallbackInfo, webhookId: string): { slot: DeliverySlot; delivery: SupersededDelivery } | null {
  if (callback.webhook_id === webhookId) return { slot: 'callback', delivery: callback };
  if (callback.superseded?.webhook_id === webhookId) return { slot: 'callback.superseded', delivery: callback.superseded };
  return null;
}

/** The event to deliver for a finished generation, as the delivery loop of the state machine takes it. */
export function notificationOf(item: GenerationItem): Notification {
  if (item.status === 'completed') {
    return { outcome: 'completed', event_type: 'generation.completed', webhook_id: webhookIdFor(item.id, 'generation.completed') };
  }
  return {
    outcome: 'error',
    event_type: 'generation.failed',
    webhook_id: webhookIdFor(item.id, 'generation.failed'),
    error_name: item.error?.name ?? 'ProviderUnavailable',
    error_message: item.error?.message ?? 'the generation failed',
  };
}

/**
 * The input of a "retry now" run (a redeliver call while a delivery is pending): it makes
 * the attempt after the `retry_now_after`-th, once, and leaves the schedule to the run
 * that was already delivering the event.
 */
export interface RetryNowInput extends NotifyInput {
  notification: Notification & { retry_now_after?: number };
}

/** The notification of the delivery the record shows, whichever event it is; null when it shows none. */
export function shownNotification(item: GenerationItem): Notification | null {
  const { webhook_id: webhookId, event_type: eventType } = item.callback;
  if (webhookId === null || eventType === null) return null;
  if (eventType === 'generation.started') return { outcome: 'started', event_type: eventType, webhook_id: webhookId };
  return notificationOf(item);
}
