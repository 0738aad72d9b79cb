/**
 * What one webhook attempt's result means for the delivery: delivered, failed for
 * good, or pending with the delay before the next attempt. Kept out of the notify
 * handler so the decision is tested without a receiver.
 */
import type { DeliveryResult } from '#shared/webhooks/delivery.js';
import { nextRetryDelaySeconds } from '#shared/webhooks/delivery.js';

export type RetryDecision =
  | { state: 'delivered'; delaySeconds: null }
  | { state: 'failed'; delaySeconds: null }
  | { state: 'pending'; delaySeconds: number };

export interface RetryDecisionInput {
  result: Pick<DeliveryResult, 'delivered' | 'refused' | 'retryAfterSeconds'>;
  /** Attempts made, this one included. */
  attempts: number;
  /** Default Math.random (the schedule's jitter); tests pass their own. */
  random?: () => number;
}

/**
 * A refused target stays refused. Any other answer but a 2xx, 410 Gone included, is
 * retried while the schedule lasts: the webhooks promise retries for everything else.
 *
 * @example
 * decideRetry({ result: { delivered: false, refused: false, retryAfterSeconds: null }, attempts: 1 }); // pending, ~5 s
 */
export function decideRetry({ result, attempts, random }: RetryDecisionInput): RetryDecision {
  if (result.delivered) return { state: 'delivered', delaySeconds: null };
  if (result.refused) return { state: 'failed', delaySeconds: null };
  const delay = nextRetryDelaySeconds(attempts, result.retryAfterSeconds, random);
  return delay === null ? { state: 'failed', delaySeconds: null } : { state: 'pending', delaySeconds: delay };
}
