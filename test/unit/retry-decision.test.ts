import { describe, expect, it } from 'vitest';
import { RETRY_SCHEDULE_SECONDS } from '#shared/webhooks/delivery.js';
import { decideRetry } from '#shared/webhooks/retry-decision.js';

const failed = { delivered: false, refused: false, retryAfterSeconds: null };
const noJitter = (): number => 0;

describe('decideRetry', () => {
  it('settles a delivered webhook', () => {
    expect(decideRetry({ result: { ...failed, delivered: true }, attempts: 1 })).toEqual({ state: 'delivered', delaySeconds: null });
  });

  it('fails a target the callback policy refused at once, without retrying', () => {
    expect(decideRetry({ result: { ...failed, refused: true }, attempts: 1 })).toEqual({ state: 'failed', delaySeconds: null });
  });

  it('retries any other failure on the schedule, then fails once it is spent', () => {
    expect(decideRetry({ result: failed, attempts: 1, random: noJitter })).toEqual({ state: 'pending', delaySeconds: RETRY_SCHEDULE_SECONDS[1] });
    expect(decideRetry({ result: failed, attempts: 2, random: noJitter })).toEqual({ state: 'pending', delaySeconds: RETRY_SCHEDULE_SECONDS[2] });
    expect(decideRetry({ result: failed, attempts: RETRY_SCHEDULE_SECONDS.length, random: noJitter })).toEqual({ state: 'failed', delaySeconds: null });
  });

  it('waits at least what the receiver’s Retry-After asks for', () => {
    expect(decideRetry({ result: { ...failed, retryAfterSeconds: 120 }, attempts: 1, random: noJitter })).toEqual({ state: 'pending', delaySeconds: 120 });
  });
});
