/**
 * Check Status: asks the provider once and decides what the state machine does next.
 * Returns `completed` (go copy) or `pending` with the next check time; throws
 * ProviderFailed when the provider reports `error` and TimedOut past the deadline.
 */
import { providerBaseUrl, tableName } from '#shared/runtime/config.js';
import { DurationHistory, estimatedDurationSeconds } from '#shared/polling/duration-history.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationMissing, ProviderFailed, ReelhookError, TimedOut } from '#shared/errors.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { findModel } from '#shared/provider/models.js';
import { MetricName, recordGenerationMetric, recordProviderDuration, tracedHandler } from '#shared/runtime/observability.js';
import { planNextCheck } from '#shared/polling/schedule.js';
import { DEFAULT_TYPICAL_SECONDS, pollingBoundsFromEnv, toScheduleSeconds, waitScaleFromEnv, waitUntil } from '#shared/polling/bounds.js';
import { ProviderClient } from '#shared/provider/client.js';
import { providerApiKey } from '#shared/provider/key.js';
import type { GenerationItem } from '#shared/records/record.js';
import { loadGeneration, type PollPlan, type StatusInput } from '#shared/workflow/steps.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const history = new DurationHistory(db, tableName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('status');

/** A provider that says `completed` but gives no URL yet is asked again this many times. */
const MISSING_URL_CHECKS = 3;
const MISSING_URL_WAIT_SECONDS = 2;

export const handler = tracedHandler('status', async (event: StatusInput): Promise<PollPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  const item = await loadGeneration(store, event.generation_id);
  stopIfEnded(item);
  if (item.status === 'completed' || item.provider_video_url) return { ...event.poll, status: 'completed' };
  const providerId = item.provider.generation_id;
  if (!providerId) throw new GenerationMissing(`generation ${item.id} has no provider id`);

  const provider = new ProviderClient({ baseUrl, apiKey: await providerApiKey(), waitScale });
  const remote = await provider.getGeneration(providerId);
  recordGenerationMetric(MetricName.ProviderPolls, item.model);
  const polls = event.poll.polls + 1;
  const now = Date.now();
  const at = new Date(now).toISOString();
  logger.info('provider status', { provider_status: remote.status, polls });
  const recordPoll = async (videoUrl: string | null): Promise<void> => {
    const recorded = await store.recordPoll(item.id, { providerStatus: remote.status, polls, videoUrl, creditsUsed: remote.credits_used }, at);
    // The record left `generating` meanwhile (cancelled): end with what it says instead of going on.
    if (!recorded) stopIfEnded(await loadGeneration(store, item.id));
  };

  if (remote.status === 'error') {
    await recordPoll(null);
    throw new ProviderFailed(remote.error?.message ?? 'the provider reported an error without a message');
  }

  const remainingSeconds = (Date.parse(item.deadline_at) - now) / 1000;
  if (remote.status === 'completed') {
    if (remote.video_url) {
      await recordPoll(remote.video_url);
      // After recordPoll: a retried step finds the URL recorded and never counts twice.
      await learnDuration(item, now, event.poll.wait_seconds);
      return { status: 'completed', polls, wait_seconds: 0, next_check_at: at };
    }
    // Recorded like any poll, so the record's provider.status says what the provider said.
    await recordPoll(null);
    const missing = (event.poll.missing_url_checks ?? 0) + 1;
    if (missing > MISSING_URL_CHECKS) throw new ProviderFailed('the provider reported completed but gave no video URL');
    return { status: 'pending', polls, missing_url_checks: missing, wait_seconds: MISSING_URL_WAIT_SECONDS, next_check_at: waitUntil(MISSING_URL_WAIT_SECONDS, waitScale, now) };
  }

  // queued, generating, or a pending value we do not know (waiting, active…): keep polling.
  await recordPoll(null);
  if (remainingSeconds <= 0) {
    throw new TimedOut(`the provider had not finished ${item.timeout_seconds} s after the generation was accepted`);
  }
  const accepted = Date.parse(item.timeline.provider_accepted ?? item.created_at);
  const waitSeconds = await planNextCheck({
    model: item.model,
    typicalSeconds: findModel(item.model)?.typicalSeconds ?? DEFAULT_TYPICAL_SECONDS,
    elapsedSeconds: toScheduleSeconds((now - accepted) / 1000, waitScale),
    polls,
    remainingSeconds: toScheduleSeconds(remainingSeconds, waitScale),
    history,
    bounds,
  });
  return { status: 'pending', polls, wait_seconds: waitSeconds, next_check_at: waitUntil(waitSeconds, waitScale, now) };
});

/**
 * Feeds the model's duration history, which shapes the polling schedule. A lost sample
 * never fails the poll.
 */
async function learnDuration(item: GenerationItem, now: number, lastWaitSeconds: number): Promise<void> {
  const acceptedAt = item.timeline.provider_accepted;
  if (!acceptedAt) return;
  const elapsed = toScheduleSeconds((now - Date.parse(acceptedAt)) / 1000, waitScale);
  const duration = estimatedDurationSeconds(elapsed, lastWaitSeconds);
  recordProviderDuration(item.model, duration);
  await history
    .recordDuration(item.model, duration)
    .catch((error: unknown) => logger.warn('could not record the provider duration', { error: String(error) }));
}

/** A generation that ended elsewhere (cancelled through the API) stops polling with that outcome. */
function stopIfEnded(item: GenerationItem): void {
  if (item.status === 'error' && item.error) throw new ReelhookError(item.error.name, item.error.message);
}
