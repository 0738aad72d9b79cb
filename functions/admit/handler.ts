/**
 * Wait For Provider Slot (a `.waitForTaskToken` Task): puts the generation in the fair
 * queue for a provider slot with its task token. When a slot is free it is admitted at
 * once (its own token is resumed); otherwise it stays `queued` with a `queue` field, and
 * whoever frees a slot later resumes it. Nothing polls while it waits.
 *
 * The Task's own timeout is the generation's remaining time, so `TimedOut` while queued
 * needs no one to watch the clock.
 */
import { tableName } from '#shared/runtime/config.js';
import { admissionFromEnv, sampleAdmissionGauges } from '#shared/admission/from-env.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { tracedHandler } from '#shared/runtime/observability.js';
import { loadGeneration, stopIfEnded, type AdmitInput } from '#shared/workflow/steps.js';
import { slotLeaseUntil } from '#shared/admission/lease.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const parts = admissionFromEnv(db, tableName());
const logger = createLogger('admit');

export const handler = tracedHandler('admit', async (event: AdmitInput): Promise<void> => {
  logger.appendKeys({ generation_id: event.generation_id });
  const item = await loadGeneration(store, event.generation_id);
  // Cancelled while it waited to be admitted: the failure path records and notifies.
  stopIfEnded(item);
  const request = { generationId: item.id, taskToken: event.task_token, leaseUntil: slotLeaseUntil(item) };
  if (item.provider.generation_id) {
    logger.info('provider job already in flight; holding its slot');
    await parts.admission.resumeAccepted(request);
    return;
  }
  const { admitted, since } = await parts.admission.wait({ ...request, owner: item.owner });
  if (!admitted) {
    await store.markQueued(item.id, { reason: 'provider_capacity', since });
    logger.info('waiting for a provider slot', { since });
  }
  await sampleAdmissionGauges(parts);
});
