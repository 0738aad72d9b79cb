/**
 * Does the longest generation fit in one Step Functions execution?
 *
 * A Standard execution's history holds at most 25,000 events, and every poll of the
 * provider is a pass through Wait For Provider → Check Status → Provider Finished?.
 * Polling a 24 h generation every 5 s would take 17,280 polls, 155,520 events: six
 * times the limit. So the shortest wait grows for long waits: a tenth of the time the
 * generation has already run, between the minimum and the maximum interval
 * ({@link longWaitFloorSeconds}; polling.ts's back-off past its learned schedule is
 * exactly this). The construct refuses bounds whose worst case would use more than half
 * of the history, leaving the other half for retries and webhook delivery.
 */
import type { PollingBounds } from '#shared/polling/bounds.js';
import { MAX_TIMEOUT_SECONDS } from '#shared/facts.js';

/** Step Functions' limit of events in one Standard execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;

/** The longest `timeout_seconds` a request may ask for (docs/api.md). */
export const MAX_GENERATION_SECONDS = MAX_TIMEOUT_SECONDS;

/**
 * History events one pass through a state adds when nothing is retried: a Lambda Task
 * logs TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted,
 * LambdaFunctionSucceeded and TaskStateExited; the others log Entered and Exited, a
 * Fail state only Entered (ExecutionFailed is counted with the execution).
 */
export const HISTORY_EVENTS_PER_STATE: Readonly<Record<string, number>> = {
  Task: 5,
  Wait: 2,
  Choice: 2,
  Pass: 2,
  Succeed: 2,
  Fail: 1,
};

/** A retried Lambda attempt adds LambdaFunctionFailed (or TimedOut), Scheduled and Started. */
export const HISTORY_EVENTS_PER_RETRY = 3;

/** ExecutionStarted and the closing ExecutionSucceeded / ExecutionFailed / … event. */
export const HISTORY_EVENTS_PER_EXECUTION = 2;

/** One poll: Wait For Provider (Wait) + Check Status (Task) + Provider Finished? (Choice). */
export const HISTORY_EVENTS_PER_POLL =
  (HISTORY_EVENTS_PER_STATE.Wait ?? 0) + (HISTORY_EVENTS_PER_STATE.Task ?? 0) + (HISTORY_EVENTS_PER_STATE.Choice ?? 0);

/** The share of the history polling may use; the rest absorbs retries and delivery. */
export const POLLING_HISTORY_BUDGET = HISTORY_EVENT_LIMIT / 2;

/** Share of the time a generation has already run below which no wait may go. */
const LONG_WAIT_SHARE = 0.1;

/**
 * The shortest wait allowed after a generation has run `elapsedSeconds`: the minimum
 * interval, growing to {@link LONG_WAIT_SHARE} of the time spent, capped at the maximum
 * interval. A 3-minute job is still checked every few seconds near its end; a 20-hour
 * one every two minutes.
 *
 * @example
 * longWaitFloorSeconds(3600, { firstCheckSeconds: null, minIntervalSeconds: 5, maxIntervalSeconds: 120 }); // 120
 */
export function longWaitFloorSeconds(elapsedSeconds: number, bounds: PollingBounds): number {
  return Math.min(bounds.maxIntervalSeconds, Math.max(bounds.minIntervalSeconds, LONG_WAIT_SHARE * elapsedSeconds));
}

/**
 * Status checks of a generation that runs until its deadline, polled as often as the
 * floor allows: the first check after `firstCheckSeconds` (or the minimum interval when
 * the schedule picks it), then after every shortest allowed wait, until the check that
 * finds the deadline passed.
 *
 * @example
 * worstCasePolls({ firstCheckSeconds: null, minIntervalSeconds: 5, maxIntervalSeconds: 120 }); // 753
 */
export function worstCasePolls(bounds: PollingBounds, generationSeconds = MAX_GENERATION_SECONDS): number {
  let elapsed = bounds.firstCheckSeconds ?? bounds.minIntervalSeconds;
  for (let polls = 1; ; polls += 1) {
    if (elapsed >= generationSeconds) return polls;
    // Whole seconds, as the Wait timestamps are; never past the deadline.
    elapsed = Math.min(generationSeconds, elapsed + Math.max(1, Math.ceil(longWaitFloorSeconds(elapsed, bounds))));
  }
}

/**
 * Throws when the worst-case polling of the longest generation would take more than
 * {@link POLLING_HISTORY_BUDGET} events, naming the smallest maximum interval that fits.
 *
 * @example
 * assertPollingFitsHistory({ firstCheckSeconds: null, minIntervalSeconds: 5, maxIntervalSeconds: 10 }); // throws
 */
export function assertPollingFitsHistory(bounds: PollingBounds): void {
  const events = (b: PollingBounds) => worstCasePolls(b) * HISTORY_EVENTS_PER_POLL;
  if (events(bounds) <= POLLING_HISTORY_BUDGET) return;
  let fits = Math.max(bounds.maxIntervalSeconds, bounds.minIntervalSeconds);
  while (events({ ...bounds, maxIntervalSeconds: fits }) > POLLING_HISTORY_BUDGET) fits += 1;
  throw new Error(
    `polling bounds min ${bounds.minIntervalSeconds} s / max ${bounds.maxIntervalSeconds} s would poll a ` +
      `${MAX_GENERATION_SECONDS} s generation ${worstCasePolls(bounds)} times (${events(bounds)} history events, ` +
      `over the budget of ${POLLING_HISTORY_BUDGET}, half of Step Functions' ${HISTORY_EVENT_LIMIT}); ` +
      `raise pollMaxInterval to at least ${fits} s`,
  );
}
