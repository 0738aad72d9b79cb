import { describe, expect, it } from 'vitest';
import { decidePoll, MISSING_URL_CHECKS, MISSING_URL_WAIT_SECONDS, type PollDecisionInput } from '#shared/polling/poll-decision.js';

const input = (remote: Partial<PollDecisionInput['remote']>, rest: Partial<Omit<PollDecisionInput, 'remote'>> = {}): PollDecisionInput => ({
  remote: { status: 'generating', video_url: null, error: null, ...remote },
  missingUrlChecks: 0,
  remainingSeconds: 600,
  timeoutSeconds: 3600,
  ...rest,
});

describe('decidePoll', () => {
  it('copies the video once the provider reports completed with a URL', () => {
    expect(decidePoll(input({ status: 'completed', video_url: 'https://cdn.example/v.mp4' }))).toEqual({
      action: 'copy',
      videoUrl: 'https://cdn.example/v.mp4',
    });
  });

  it('fails with ProviderFailed and the provider’s message when it reports error', () => {
    expect(decidePoll(input({ status: 'error', error: { name: 'x', message: 'content policy' } }))).toEqual({
      action: 'fail',
      error: 'ProviderFailed',
      message: 'content policy',
    });
    expect(decidePoll(input({ status: 'error' }))).toMatchObject({ action: 'fail', error: 'ProviderFailed' });
  });

  it('asks again soon, a bounded number of times, when completed comes without a URL', () => {
    expect(decidePoll(input({ status: 'completed' }))).toEqual({
      action: 'check-again',
      missingUrlChecks: 1,
      waitSeconds: MISSING_URL_WAIT_SECONDS,
    });
    expect(decidePoll(input({ status: 'completed' }, { missingUrlChecks: MISSING_URL_CHECKS - 1 }))).toMatchObject({
      action: 'check-again',
      missingUrlChecks: MISSING_URL_CHECKS,
    });
    expect(decidePoll(input({ status: 'completed' }, { missingUrlChecks: MISSING_URL_CHECKS }))).toEqual({
      action: 'fail',
      error: 'ProviderFailed',
      message: 'the provider reported completed but gave no video URL',
    });
  });

  it('lets the schedule plan the next check while the job runs, whatever pending value the provider uses', () => {
    for (const status of ['queued', 'generating', 'waiting', 'active']) expect(decidePoll(input({ status }))).toEqual({ action: 'schedule' });
  });

  it('times out a running job past its deadline, naming the timeout', () => {
    expect(decidePoll(input({ status: 'generating' }, { remainingSeconds: 0, timeoutSeconds: 900 }))).toEqual({
      action: 'fail',
      error: 'TimedOut',
      message: 'the provider had not finished 900 s after the generation was accepted',
    });
    // An outcome that came in time is never turned into a timeout.
    expect(decidePoll(input({ status: 'completed', video_url: 'https://cdn.example/v.mp4' }, { remainingSeconds: -5 }))).toMatchObject({ action: 'copy' });
  });
});
