/**
 * What one answer of the provider means for a generation: copy the video, check
 * again soon (completed without a URL yet), let the schedule plan the next check,
 * or fail. Plain inputs, a plain decision: the status handler does the I/O.
 */
import type { ProviderGeneration } from '#shared/provider/client.js';

/** A provider that says `completed` but gives no URL yet is asked again this many times. */
export const MISSING_URL_CHECKS = 3;
export const MISSING_URL_WAIT_SECONDS = 2;

export type PollDecision =
  | { action: 'copy'; videoUrl: string }
  | { action: 'check-again'; missingUrlChecks: number; waitSeconds: number }
  | { action: 'schedule' }
  | { action: 'fail'; error: 'ProviderFailed' | 'TimedOut'; message: string };

export interface PollDecisionInput {
  remote: Pick<ProviderGeneration, 'status' | 'video_url' | 'error'>;
  /** Checks so far that saw `completed` without a video URL. */
  missingUrlChecks: number;
  /** Seconds left before the generation's deadline (negative once past it). */
  remainingSeconds: number;
  /** The generation's timeout, for the TimedOut message. */
  timeoutSeconds: number;
}

/**
 * @example
 * decidePoll({ remote: { status: 'generating', video_url: null, error: null }, missingUrlChecks: 0, remainingSeconds: 600, timeoutSeconds: 3600 });
 * // { action: 'schedule' }
 */
export function decidePoll({ remote, missingUrlChecks, remainingSeconds, timeoutSeconds }: PollDecisionInput): PollDecision {
  if (remote.status === 'error') {
    return { action: 'fail', error: 'ProviderFailed', message: remote.error?.message ?? 'the provider reported an error without a message' };
  }
  if (remote.status === 'completed') {
    if (remote.video_url) return { action: 'copy', videoUrl: remote.video_url };
    const missing = missingUrlChecks + 1;
    if (missing > MISSING_URL_CHECKS) {
      return { action: 'fail', error: 'ProviderFailed', message: 'the provider reported completed but gave no video URL' };
    }
    return { action: 'check-again', missingUrlChecks: missing, waitSeconds: MISSING_URL_WAIT_SECONDS };
  }
  // queued, generating, or a pending value we do not know (waiting, active…): keep polling.
  if (remainingSeconds <= 0) {
    return { action: 'fail', error: 'TimedOut', message: `the provider had not finished ${timeoutSeconds} s after the generation was accepted` };
  }
  return { action: 'schedule' };
}
