/**
 * Whether a notify run sends an attempt now, waits, or stops, decided from the record
 * alone, so the scheduled loop and a "retry now" run (a redeliver call during a pending
 * delivery) never both make the same attempt. Kept apart from the handler so the rules
 * are tested without a receiver.
 */
import type { SupersededDelivery } from '#shared/records/record.js';
import { DELIVERY_TIMEOUT_MS } from '#shared/webhooks/delivery.js';

/**
 * How long a "retry now" attempt that has no result yet is taken to be still in flight:
 * the receiver's 10 s plus time to record the result. Past it, the attempt is one whose
 * run stopped after sending, and the schedule carries on. Real time: the HTTP timeout is
 * not shortened by REELHOOK_WAIT_SCALE.
 */
export const IN_FLIGHT_GRACE_MS = DELIVERY_TIMEOUT_MS + 5_000;

/** A Wait state may wake a little before the recorded time by the function's clock: that counts as due. */
export const CLOCK_TOLERANCE_MS = 1_000;

export type AttemptPlan = { action: 'send' } | { action: 'done' } | { action: 'wait'; until: number };

export interface AttemptPlanInput {
  delivery: SupersededDelivery;
  now: number;
  /**
   * Set for a "retry now" run: the attempt count it was started at. It makes the attempt
   * after that one, or nothing if another run has made it meanwhile.
   */
  retryNowAfter?: number;
}

/**
 * @example
 * planAttempt({ delivery: { state: 'pending', attempts: 2, next_attempt_at: in5Minutes, … }, now }); // wait until in5Minutes
 * planAttempt({ delivery: { state: 'pending', attempts: 2, next_attempt_at: in5Minutes, … }, now, retryNowAfter: 2 }); // send
 */
export function planAttempt({ delivery, now, retryNowAfter }: AttemptPlanInput): AttemptPlan {
  if (delivery.state !== 'pending') return { action: 'done' };
  if (retryNowAfter !== undefined) return delivery.attempts === retryNowAfter ? { action: 'send' } : { action: 'done' };
  const latest = latestAttempt(delivery);
  // The scheduled loop's own unfinished attempts are runs of this loop that stopped: only a
  // retry-now run can be sending beside it.
  if (latest && !latest.finished && latest.trigger === 'retry_now') {
    const settlesBy = Date.parse(latest.at) + IN_FLIGHT_GRACE_MS;
    if (settlesBy > now) return { action: 'wait', until: settlesBy };
  }
  const next = delivery.next_attempt_at ? Date.parse(delivery.next_attempt_at) : Number.NaN;
  if (next > now + CLOCK_TOLERANCE_MS) return { action: 'wait', until: next };
  return { action: 'send' };
}

/** The attempt with the highest number in the log, if any. */
export function latestAttempt(delivery: Pick<SupersededDelivery, 'attempt_log'>) {
  const entries = Object.values(delivery.attempt_log ?? {});
  return entries.reduce<(typeof entries)[number] | undefined>((latest, entry) => (!latest || entry.attempt > latest.attempt ? entry : latest), undefined);
}
