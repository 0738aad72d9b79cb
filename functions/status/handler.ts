/**
 * Check Status: asks the provider once and decides what the state machine does next.
 * Returns `completed` (go copy) or `pending` with the next check time; throws
 * ProviderFailed when the provider reports `error` and TimedOut past the deadline.
 */
import { providerBaseUrl, tableName } from '#shared/runtime/config.js';
import { DurationHistory, estimatedDurationSeconds } from '#shared/polling/duration-history.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationMissing, ProviderFailed, TimedOut } from '#shared/errors.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { MetricName, recordGenerationMetric, recordProviderDuration, tracedHandler } from '#shared/runtime/observability.js';
import { planPendingCheck } from '#shared/polling/check-plan.js';
import { decidePoll } from '#shared/polling/poll-decision.js';
import { pollingBoundsFromEnv, toScheduleSeconds, waitScaleFromEnv, waitUntil } from '#shared/polling/bounds.js';
import { ProviderClient } from '#shared/provider/client.js';
import { providerApiKey } from '#shared/provider/key.js';
import type { GenerationItem } from '#shared/records/record.js';
import { loadGeneration, stopIfEnded, type PollPlan, type StatusInput } from '#shared/workflow/steps.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const history = new DurationHistory(db, tableName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('status');

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

  const decision = decidePoll({
    remote,
    missingUrlChecks: event.poll.missing_url_checks ?? 0,
    remainingSeconds: (Date.parse(item.deadline_at) - now) / 1000,
    timeoutSeconds: item.timeout_seconds,
  });
  // Every answer is recorded, so the record's provider.status says what the provider said.
  await recordPoll(decision.action === 'copy' ? decision.videoUrl : null);
  switch (decision.action) {
    case 'fail':
      throw decision.error === 'TimedOut' ? new TimedOut(decision.message) : new ProviderFailed(decision.message);
    case 'copy':
      // After recordPoll: a retried step finds the URL recorded and never counts twice.
      await learnDuration(item, now, event.poll.wait_seconds);
      return { status: 'completed', polls, wait_seconds: 0, next_check_at: at };
    case 'check-again':
      return {
        status: 'pending',
        polls,
        missing_url_checks: decision.missingUrlChecks,
        wait_seconds: decision.waitSeconds,
        next_check_at: waitUntil(decision.waitSeconds, waitScale, now),
      };
    case 'schedule':
      return planPendingCheck({ item, polls, now, waitScale, bounds, history });
  }
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
