/**
 * Record Completion / Record Failure: writes the generation's terminal state and
 * names the event to deliver. The write is conditional on the record still being in
 * flight, so a re-run (or a race with a cancel) keeps whichever outcome came first.
 * Then it publishes that outcome on EventBridge; a re-run publishes it again (at least
 * once), and a failed publish throws so the state machine retries the step.
 *
 * A failure gives back the generation's provider slot or its place in the queue, whichever
 * it had: every failure path of a run (a provider error, TimedOut, a cancel, a crashed
 * step, a queue timeout) passes here.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { eventBusName, GenerationEvents, outcomeDetailType } from '#shared/events/bus.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { callbackFor, notificationOf } from '#shared/webhooks/notification.js';
import { MetricName, recordGenerationMetric, traceClient, tracedHandler } from '#shared/runtime/observability.js';
import { describeFailure } from '#shared/workflow/step-failure.js';
import { toPublicGeneration, type GenerationItem } from '#shared/records/record.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { loadGeneration, type Notification, type RecordInput } from '#shared/workflow/steps.js';
import { presignVideoUrl } from '#shared/video/url.js';
import { admissionFromEnv, sampleAdmissionGauges } from '#shared/admission/from-env.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const events = new GenerationEvents(traceClient(new EventBridgeClient({})), eventBusName());
const s3 = createS3Client();
const logger = createLogger('record');
const admission = admissionFromEnv(db, tableName());

export const handler = tracedHandler('record', async (event: RecordInput): Promise<Notification> => {
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
    await admission.admission.release(item.id);
    await sampleAdmissionGauges(admission);
  }
  // Counted once per generation: a re-run, or an outcome recorded first elsewhere (a cancel), wrote nothing.
  if (recorded) {
    recordGenerationMetric(recorded.status === 'completed' ? MetricName.GenerationsCompleted : MetricName.GenerationsFailed, recorded.model);
  }
  const outcome = recorded ?? (await loadGeneration(store, item.id));
  await events.publish(outcomeDetailType(outcome.status), toPublicGeneration(outcome, await presignVideoUrl(s3, outcome.video)));
  return notificationOf(outcome);
});
