/**
 * The plan of a generation's next status check, from its model's learned schedule:
 * the first check (after submission) and every later one (after a check that found
 * the job still running) are planned the same way.
 */
import { DEFAULT_TYPICAL_SECONDS, toScheduleSeconds, waitUntil, type PollingBounds } from '#shared/polling/bounds.js';
import { planNextCheck, type PlanNextCheckRequest } from '#shared/polling/schedule.js';
import { findModel } from '#shared/provider/models.js';
import type { GenerationItem } from '#shared/records/record.js';
import type { PollPlan, ProviderJob } from '#shared/workflow/steps.js';

export interface CheckPlanInput {
  item: Pick<GenerationItem, 'model' | 'timeline' | 'created_at' | 'deadline_at'>;
  /** Status checks made so far. */
  polls: number;
  now: number;
  /** REELHOOK_WAIT_SCALE (1 in AWS). */
  waitScale: number;
  bounds: PollingBounds;
  history: PlanNextCheckRequest['history'];
  /** The provider job, carried into the plan (PollPlan.job). */
  job?: ProviderJob;
}

/**
 * @example
 * const plan = await planPendingCheck({ item, polls: 0, now: Date.now(), waitScale: 1, bounds, history });
 */
export async function planPendingCheck({ item, polls, now, waitScale, bounds, history, job }: CheckPlanInput): Promise<PollPlan> {
  const acceptedAt = Date.parse(item.timeline.provider_accepted ?? item.created_at);
  const waitSeconds = await planNextCheck({
    model: item.model,
    typicalSeconds: findModel(item.model)?.typicalSeconds ?? DEFAULT_TYPICAL_SECONDS,
    elapsedSeconds: toScheduleSeconds(Math.max(0, now - acceptedAt) / 1000, waitScale),
    polls,
    remainingSeconds: toScheduleSeconds((Date.parse(item.deadline_at) - now) / 1000, waitScale),
    history,
    bounds,
    checkAtExpectedEnd: job?.waited_for_slot ?? false,
    now,
  });
  return {
    status: 'pending',
    polls,
    wait_seconds: waitSeconds,
    next_check_at: waitUntil(waitSeconds, waitScale, now),
    ...(job ? { job } : {}),
  };
}
