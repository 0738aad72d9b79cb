/**
 * Submit Generation: sends the job to the provider once and records its id. It runs
 * holding a provider slot (Wait For Provider Slot). Re-run after a crash, it finds the
 * provider id already recorded and does not create a second provider job; a create whose
 * answer was lost (the record says one was being sent) is sent again, and the record and
 * a metric say so: the AI/ML API has no idempotency key.
 *
 * A 429 makes no job: the slot goes back, admission pauses for the Retry-After, and the
 * run returns `busy` to queue again afterwards. It never fails the generation.
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
import { loadGeneration, providerJobOf, stopIfEnded } from '#shared/workflow/steps.js';
import { admissionFromEnv, sampleAdmissionGauges } from '#shared/admission/from-env.js';
import { ProviderRateLimited, ProviderRejected, ReelhookError, TimedOut } from '#shared/errors.js';
import { recordAdmissionEvent } from '#shared/runtime/observability.js';
import { waitUntil } from '#shared/polling/bounds.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const history = new DurationHistory(db, tableName());
const executions = new GenerationExecutions(traceClient(new SFNClient({})), stateMachineArn());
const events = new GenerationEvents(traceClient(new EventBridgeClient({})), eventBusName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('create');
const admission = admissionFromEnv(db, tableName());

/** The wait after a 429 that names no Retry-After. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;
/** How long after admission's 429 pause the generation comes back to the queue. */
const PAUSE_MARGIN_MS = 100;

const STARTED = 'generation.started';

export const handler = tracedHandler('create', async (event: StepInput): Promise<PollPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  let item = await loadGeneration(store, event.generation_id);
  // Ended before the provider was asked (cancelled): no job, and the failure path notifies.
  stopIfEnded(item);
  // Only a generation that had to queue has a `queue`: others likely queue behind it.
  const waitedForSlot = Boolean(item.queue);
  if (!item.provider.generation_id) {
    const submitted = await submit(item);
    if ('busy' in submitted) return submitted.busy;
    item = submitted.item;
  } else {
    logger.info('provider job already recorded; not creating another', { provider_generation_id: item.provider.generation_id });
  }
  // Once the generation has ended (a re-run after a restart), "started" is old news.
  if (item.status === 'generating') {
    item = await startStartedWebhook(item);
    await events.publish(EventDetailType.Started, toPublicGeneration(item, null));
  }
  // The first check comes from the model's learned schedule (seed defaults without history).
  return planPendingCheck({ item, polls: item.polls, now: Date.now(), waitScale, bounds, history, job: providerJobOf(item, waitedForSlot) });
});

/** One create request, bracketed by `submitting_since` so a lost answer is noticed on the re-run. */
async function submit(item: GenerationItem): Promise<{ item: GenerationItem } | { busy: PollPlan }> {
  if (Date.parse(item.deadline_at) <= Date.now()) {
    throw new TimedOut(`the generation waited for provider capacity past its timeout_seconds (${item.timeout_seconds}); no provider job was made`);
  }
  const at = new Date().toISOString();
  const before = await store.markSubmitting(item.id, at);
  // Not queued any more: cancelled meanwhile (stopIfEnded throws), or accepted by a run before.
  if (!before) {
    const current = await loadGeneration(store, item.id);
    stopIfEnded(current);
    return { item: current };
  }
  if (before.submitting_since) {
    logger.warn('an earlier create request was cut off before its answer was recorded; sending it again', { cut_off_at: before.submitting_since });
    await store.markSubmissionRepeated(item.id, at);
    recordAdmissionEvent(MetricName.SubmissionsRepeated);
  }
  // 429s are not waited out inside the call: the slot goes back to the queue at once.
  const provider = new ProviderClient({ baseUrl, apiKey: await providerApiKey(), maxRateLimitRetries: 0 });
  let job;
  try {
    job = await provider.createGeneration({ model: item.model, prompt: item.prompt, params: item.params });
  } catch (error) {
    if (error instanceof ProviderRateLimited) return { busy: await backOff(item, error) };
    // The provider answered and made no job: nothing was cut off.
    if (error instanceof ProviderRejected || answeredWithStatus(error)) await store.clearSubmitting(item.id, item.queue ?? { reason: 'provider_capacity', since: at });
    throw error;
  }
  logger.info('provider accepted the job', { provider_generation_id: job.id });
  const accepted = (await store.markProviderAccepted(item.id, job.id, job.status, new Date().toISOString())) ?? (await loadGeneration(store, item.id));
  recordGenerationMetric(MetricName.GenerationsStarted, item.model);
  // A learned limit that grew frees a slot: the next waiter goes now, not at the next release.
  if (await admission.slots.recordAccepted()) await admission.admission.fill();
  return { item: accepted };
}

const answeredWithStatus = (error: unknown): boolean =>
  error instanceof ReelhookError && typeof (error.details as { statusCode?: unknown } | undefined)?.statusCode === 'number';

/**
 * The provider is at capacity: give the slot back, pause admission for its Retry-After,
 * and plan the run's return to the queue. The generation stays `queued` with `queue`.
 */
async function backOff(item: GenerationItem, error: ProviderRateLimited): Promise<PollPlan> {
  const retryAfterSeconds = error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
  await admission.slots.recordRejected(item.id, retryAfterSeconds * waitScale * 1000);
  // Back strictly after the pause ends: a waiter that arrives while admission is still
  // paused waits for the next release, and when every job has ended there is none.
  const now = Date.now() + PAUSE_MARGIN_MS;
  const backAt = waitUntil(retryAfterSeconds, waitScale, now);
  recordAdmissionEvent(MetricName.ProviderRateLimited);
  const queue = item.queue ?? { reason: 'provider_capacity' as const, since: new Date().toISOString() };
  await store.clearSubmitting(item.id, queue);
  const remainingSeconds = Math.floor((Date.parse(item.deadline_at) - Date.parse(backAt)) / 1000);
  if (remainingSeconds < 1) {
    throw new TimedOut(`the provider stayed at capacity (429) until the generation's timeout_seconds (${item.timeout_seconds}) ran out; no provider job was made`);
  }
  logger.info('provider at capacity (429); queued again', { retry_after_seconds: retryAfterSeconds });
  await sampleAdmissionGauges(admission);
  return { status: 'busy', polls: item.polls, wait_seconds: retryAfterSeconds, next_check_at: backAt, queue_timeout_seconds: remainingSeconds };
}

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
