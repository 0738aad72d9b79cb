/**
 * Submit Generation: sends the job to the provider once and records its id.
 * Re-run after a crash, it finds the provider id already recorded and does not
 * create a second provider job.
 */
import { tableName, providerBaseUrl } from '#shared/config.js';
import { createDocumentClient } from '#shared/dynamo.js';
import { ReelhookError } from '#shared/errors.js';
import { GenerationStore } from '#shared/generation-store.js';
import { createLogger } from '#shared/logger.js';
import { findModel } from '#shared/models.js';
import { nextWaitSeconds, pollingBoundsFromEnv, waitScaleFromEnv, waitUntil } from '#shared/polling.js';
import { ProviderClient } from '#shared/provider-client.js';
import { providerApiKey } from '#shared/provider-key.js';
import type { PollPlan, StepInput } from '#shared/steps.js';
import { loadGeneration } from '#shared/steps.js';

const store = new GenerationStore(createDocumentClient(), tableName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('create');

export const handler = async (event: StepInput): Promise<PollPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  let item = await loadGeneration(store, event.generation_id);
  // Ended before the provider was asked (cancelled): no job, and the failure path notifies.
  if (item.status === 'error' && item.error) throw new ReelhookError(item.error.name, item.error.message);
  if (!item.provider.generation_id) {
    const provider = new ProviderClient({ baseUrl, apiKey: await providerApiKey() });
    const job = await provider.createGeneration({ model: item.model, prompt: item.prompt, params: item.params });
    logger.info('provider accepted the job', { provider_generation_id: job.id });
    item = (await store.markProviderAccepted(item.id, job.id, job.status, new Date().toISOString())) ?? (await loadGeneration(store, item.id));
  } else {
    logger.info('provider job already recorded; not creating another', { provider_generation_id: item.provider.generation_id });
  }
  const typicalSeconds = findModel(item.model)?.typicalSeconds ?? 180;
  const remainingSeconds = (Date.parse(item.deadline_at) - Date.now()) / 1000;
  const waitSeconds = nextWaitSeconds({ typicalSeconds, elapsedSeconds: 0, polls: 0, remainingSeconds }, bounds);
  return { status: 'pending', polls: item.polls, wait_seconds: waitSeconds, next_check_at: waitUntil(waitSeconds, waitScale) };
};
