/**
 * Submit Generation: sends the job to the provider once and records its id.
 * Re-run after a crash, it finds the provider id already recorded and does not
 * create a second provider job.
 *
 * Once the provider has accepted, it announces `generation.started`: the EventBridge
 * event, and the webhook when the caller asked for it (a delivery-only execution with
 * its own durable retries). A re-run while the job is in flight announces again, so the
 * event is delivered at least once.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { providerBaseUrl, stateMachineArn, tableName } from '#shared/runtime/config.js';
import { DurationHistory } from '#shared/polling/duration-history.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { EventDetailType, eventBusName, GenerationEvents } from '#shared/events/bus.js';
import { GenerationExecutions } from '#shared/workflow/executions.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { webhookIdFor } from '#shared/records/ids.js';
import { createLogger } from '#shared/runtime/logger.js';
import { callbackFor } from '#shared/webhooks/notification.js';
import { MetricName, recordGenerationMetric, traceClient, tracedHandler } from '#shared/runtime/observability.js';
import { planPendingCheck } from '#shared/polling/check-plan.js';
import { pollingBoundsFromEnv, waitScaleFromEnv } from '#shared/polling/bounds.js';
import { ProviderClient } from '#shared/provider/client.js';
import { providerApiKey } from '#shared/provider/key.js';
import { toPublicGeneration, type GenerationItem } from '#shared/records/record.js';
import type { PollPlan, StepInput } from '#shared/workflow/steps.js';
import { loadGeneration, stopIfEnded } from '#shared/workflow/steps.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const history = new DurationHistory(db, tableName());
const executions = new GenerationExecutions(traceClient(new SFNClient({})), stateMachineArn());
const events = new GenerationEvents(traceClient(new EventBridgeClient({})), eventBusName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('create');

const STARTED = 'generation.started';

export const handler = tracedHandler('create', async (event: StepInput): Promise<PollPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  let item = await loadGeneration(store, event.generation_id);
  // Ended before the provider was asked (cancelled): no job, and the failure path notifies.
  stopIfEnded(item);
  if (!item.provider.generation_id) {
    const provider = new ProviderClient({ baseUrl, apiKey: await providerApiKey() });
    const job = await provider.createGeneration({ model: item.model, prompt: item.prompt, params: item.params });
    logger.info('provider accepted the job', { provider_generation_id: job.id });
    item = (await store.markProviderAccepted(item.id, job.id, job.status, new Date().toISOString())) ?? (await loadGeneration(store, item.id));
    recordGenerationMetric(MetricName.GenerationsStarted, item.model);
  } else {
    logger.info('provider job already recorded; not creating another', { provider_generation_id: item.provider.generation_id });
  }
  // Once the generation has ended (a re-run after a restart), "started" is old news.
  if (item.status === 'generating') {
    item = await startStartedWebhook(item);
    await events.publish(EventDetailType.Started, toPublicGeneration(item, null));
  }
  // The first check comes from the model's learned schedule (seed defaults without history).
  return planPendingCheck({ item, polls: item.polls, now: Date.now(), waitScale, bounds, history });
});

/**
 * When the caller asked for `generation.started`: makes it the record's callback event
 * and starts the execution `<id>-started` that delivers it. Idempotent: a re-run finds
 * the event recorded and the execution existing; a later event already recorded wins.
 */
async function startStartedWebhook(item: GenerationItem): Promise<GenerationItem> {
  if (item.callback.url === null || !item.callback.events.includes(STARTED)) return item;
  const webhookId = webhookIdFor(item.id, STARTED);
  const current =
    item.callback.webhook_id === null
      ? ((await store.setCallbackEvent(item.id, callbackFor(item, STARTED))) ?? (await loadGeneration(store, item.id)))
      : item;
  if (current.callback.webhook_id !== webhookId) return current;
  await executions.startOnce(`${item.id}-started`, {
    generation_id: item.id,
    notification: { outcome: 'started', event_type: STARTED, webhook_id: webhookId },
  });
  logger.info('generation.started webhook scheduled', { webhook_id: webhookId });
  return current;
}
