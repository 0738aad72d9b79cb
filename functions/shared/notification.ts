/**
 * Which webhook event a generation delivers, shared by the create step (started), the
 * record step (a generation that ends in the workflow) and the API (cancel,
 * redelivery), so an event has one webhook-id and one shape whichever path made it.
 */
import { webhookIdFor } from './ids.js';
import type { CallbackInfo, GenerationItem, WebhookEventType } from './record.js';
import type { Notification } from './steps.js';

/** The callback state of a new event: pending when the caller asked for it, with a fresh attempt count. */
export function callbackFor(item: GenerationItem, eventType: WebhookEventType): CallbackInfo {
  const wanted = item.callback.url !== null && item.callback.events.includes(eventType);
  return {
    ...item.callback,
    state: wanted ? 'pending' : 'none',
    attempts: 0,
    last_status_code: null,
    last_attempt_at: null,
    webhook_id: webhookIdFor(item.id, eventType),
    event_type: eventType,
  };
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
