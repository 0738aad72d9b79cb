/**
 * Check Status: asks the provider once and decides what the state machine does next.
 * Returns `completed` (go copy) or `pending` with the next check time; throws
 * ProviderFailed when the provider reports `error` and TimedOut past the deadline.
 * A terminal answer gives the provider slot back (the copy needs none), before the step
 * ends either way. A 429 is waited out as its Retry-After says, like any pending check.
 * A `busy` plan (the create's 429) is passed on unchanged: there is no job to check yet.
 *
 * One table write per check and no read: the provider job comes in the plan, and the
 * write that records the answer returns what the check needs of the record (a cancel in
 * between makes that write fail, and the step ends with the record's outcome).
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
import { loadGeneration, providerJobOf, stopIfEnded, type PollPlan, type ProviderJob, type StatusInput } from '#shared/workflow/steps.js';
import { admissionFromEnv, sampleAdmissionGauges } from '#shared/admission/from-env.js';
import { ProviderRateLimited } from '#shared/errors.js';
import { recordAdmissionEvent } from '#shared/runtime/observability.js';

const db = createDocumentClient();
const store = new GenerationStore(db, tableName());
const history = new DurationHistory(db, tableName());
const baseUrl = providerBaseUrl();
const bounds = pollingBoundsFromEnv();
const waitScale = waitScaleFromEnv();
const logger = createLogger('status');
const admission = admissionFromEnv(db, tableName());

/** The wait after a 429 that names no Retry-After. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

export const handler = tracedHandler('status', async (event: StatusInput): Promise<PollPlan> => {
  logger.appendKeys({ generation_id: event.generation_id });
  // The create met a 429 and made no job: its Retry-After has been waited, and the plan
  // goes on as it is, so that the run queues again (Provider Finished? → Queue Again).
  if (event.poll.status === 'busy') return event.poll;
  // The job travels in the plan from the create on; a plan made before it did reads the record.
  const job = event.poll.job ?? (await jobOfRecord(event.generation_id));
  const provider = new ProviderClient({ baseUrl, apiKey: await providerApiKey(), waitScale });
  let remote;
  try {
    remote = await provider.getGeneration(job.id);
  } catch (error) {
    if (!(error instanceof ProviderRateLimited)) throw error;
    return rateLimitedCheck(await loadGeneration(store, event.generation_id), event.poll, error);
  }
  const polls = event.poll.polls + 1;
  const now = Date.now();
  const at = new Date(now).toISOString();
  logger.info('provider status', { provider_status: remote.status, polls });
  // Every answer is recorded, so the record's provider.status says what the provider said.
  const videoUrl = remote.status === 'completed' ? remote.video_url : null;
  const item = await store.recordPoll(event.generation_id, { providerStatus: remote.status, polls, videoUrl, creditsUsed: remote.credits_used }, at);
  if (!item) return notGenerating(event);
  recordGenerationMetric(MetricName.ProviderPolls, item.model);

  const decision = decidePoll({
    remote,
    missingUrlChecks: event.poll.missing_url_checks ?? 0,
    remainingSeconds: (Date.parse(item.deadline_at) - now) / 1000,
    timeoutSeconds: item.timeout_seconds,
  });
  if (decision.action === 'fail' || decision.action === 'copy') await releaseSlot(item.id);
  switch (decision.action) {
    case 'fail':
      throw decision.error === 'TimedOut' ? new TimedOut(decision.message) : new ProviderFailed(decision.message);
    case 'copy':
      // A re-run after the URL was recorded learned this duration already.
      if (!item.provider_video_url) await learnDuration(item, now, event.poll.wait_seconds);
      return { ...event.poll, status: 'completed', polls, wait_seconds: 0, next_check_at: at };
    case 'check-again':
      return {
        ...event.poll,
        status: 'pending',
        polls,
        missing_url_checks: decision.missingUrlChecks,
        wait_seconds: decision.waitSeconds,
        next_check_at: waitUntil(decision.waitSeconds, waitScale, now),
      };
    case 'schedule':
      return planPendingCheck({ item, polls, now, waitScale, bounds, history, job });
  }
});

/** The job of a run whose plan does not carry it (made before plans did). */
async function jobOfRecord(generationId: string): Promise<ProviderJob> {
  const item = await loadGeneration(store, generationId);
  stopIfEnded(item);
  return providerJobOf(item, false);
}

/**
 * The record left `generating` before this check was recorded: cancelled (the step ends
 * with what the record says), or completed by an earlier run of this step (it goes on to
 * the copy, its slot given back if the release had not happened yet).
 */
async function notGenerating(event: StatusInput): Promise<PollPlan> {
  const item = await loadGeneration(store, event.generation_id);
  recordGenerationMetric(MetricName.ProviderPolls, item.model);
  stopIfEnded(item);
  if (item.status !== 'completed' && !item.provider_video_url) {
    throw new GenerationMissing(`generation ${item.id} is ${item.status} with a provider job, not generating`);
  }
  await releaseSlot(item.id);
  return { ...event.poll, status: 'completed' };
}

/** The provider's job has ended (or is given up): its slot goes to the next waiter. */
async function releaseSlot(generationId: string): Promise<void> {
  await admission.admission.release(generationId);
  await sampleAdmissionGauges(admission);
}

/**
 * A status check answered 429: check again after its Retry-After (a poll that did not
 * happen is not counted), or end TimedOut once the deadline has passed.
 */
async function rateLimitedCheck(item: GenerationItem, poll: PollPlan, error: ProviderRateLimited): Promise<PollPlan> {
  recordAdmissionEvent(MetricName.ProviderRateLimited);
  const now = Date.now();
  if (Date.parse(item.deadline_at) <= now) {
    await releaseSlot(item.id);
    throw new TimedOut(`the provider kept answering 429 to status checks past the generation's timeout_seconds (${item.timeout_seconds})`);
  }
  const waitSeconds = error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
  logger.info('status check rate limited (429); checking again later', { retry_after_seconds: waitSeconds });
  return { ...poll, status: 'pending', wait_seconds: waitSeconds, next_check_at: waitUntil(waitSeconds, waitScale, now) };
}

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
