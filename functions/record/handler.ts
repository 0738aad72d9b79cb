/**
 * Record Completion / Record Failure: writes the generation's terminal state and
 * names the event to deliver. The write is conditional on the record still being in
 * flight, so a re-run (or a race with a cancel) keeps whichever outcome came first.
 */
import { tableName } from '#shared/config.js';
import { createDocumentClient } from '#shared/dynamo.js';
import { GenerationStore } from '#shared/generation-store.js';
import { webhookIdFor } from '#shared/ids.js';
import { createLogger } from '#shared/logger.js';
import { describeFailure } from '#shared/step-failure.js';
import type { CallbackInfo, GenerationItem } from '#shared/record.js';
import { loadGeneration, type Notification, type RecordInput } from '#shared/steps.js';

const store = new GenerationStore(createDocumentClient(), tableName());
const logger = createLogger('record');

export const handler = async (event: RecordInput): Promise<Notification> => {
  logger.appendKeys({ generation_id: event.generation_id });
  const item = await loadGeneration(store, event.generation_id);
  const at = new Date().toISOString();
  let recorded: GenerationItem | null;
  if (event.outcome === 'completed') {
    recorded = await store.markCompleted(item.id, event.video, callbackFor(item, 'generation.completed'), at);
  } else {
    const error = describeFailure(event.failure, item);
    logger.info('generation failed', { error_name: error.name });
    recorded = await store.markFailed(item.id, error, callbackFor(item, 'generation.failed'), at);
  }
  return notificationOf(recorded ?? (await loadGeneration(store, item.id)));
};

function callbackFor(item: GenerationItem, eventType: 'generation.completed' | 'generation.failed'): CallbackInfo {
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

function notificationOf(item: GenerationItem): Notification {
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
