/**
 * Releases the provider slot (or the queue place) of a generation whose run ended
 * without doing so itself: an execution stopped (StopExecution skips its Catch states),
 * timed out or failed. Triggered by Step Functions' "Execution Status Change" events in
 * AWS and by the local engine's equivalent. Idempotent: a slot released already stays
 * released, and the freed slot goes to the next waiter.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { tableName } from '#shared/runtime/config.js';
import { admissionFromEnv, sampleAdmissionGauges } from '#shared/admission/from-env.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { createLogger } from '#shared/runtime/logger.js';
import { tracedHandler } from '#shared/runtime/observability.js';
import { generationOfRun, type ExecutionStatusChange } from './generation-of-run.js';

const parts = admissionFromEnv(createDocumentClient(), tableName());
const logger = createLogger('release');

export const handler = tracedHandler('release', async (event: EventBridgeEvent<string, ExecutionStatusChange>): Promise<void> => {
  const generationId = generationOfRun(event.detail.input);
  if (generationId === null) return;
  logger.appendKeys({ generation_id: generationId });
  await parts.admission.release(generationId);
  logger.info('provider slot released after the run ended', { status: event.detail.status });
  await sampleAdmissionGauges(parts);
});
