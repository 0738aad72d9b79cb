import { describe, expect, it } from 'vitest';
import type { AttemptEntry, SupersededDelivery } from '#shared/records/record.js';
import { CLOCK_TOLERANCE_MS, IN_FLIGHT_GRACE_MS, planAttempt } from '#shared/webhooks/attempt-plan.js';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const entry = (attempt: number, more: Partial<AttemptEntry> = {}): AttemptEntry => ({
  attempt,
  at: iso(NOW - 60_000),
  trigger: 'schedule',
  finished: true,
  delivered: false,
  status_code: 500,
  duration_ms: 5,
  error: 'receiver answered 500',
  ...more,
});

function delivery(more: Partial<SupersededDelivery> = {}, log: AttemptEntry[] = [entry(1), entry(2)]): SupersededDelivery {
  return {
    webhook_id: 'msg_x_completed',
    event_type: 'generation.completed',
    state: 'pending',
    attempts: log.length,
    last_status_code: 500,
    last_attempt_at: iso(NOW - 60_000),
    attempt_log: Object.fromEntries(log.map((item) => [String(item.attempt), item])),
    next_attempt_at: iso(NOW + 240_000),
    ...more,
  };
}

describe('planAttempt', () => {
  it('stops once the delivery has settled, whoever asks', () => {
    for (const state of ['delivered', 'failed'] as const) {
      expect(planAttempt({ delivery: delivery({ state }), now: NOW })).toEqual({ action: 'done' });
      expect(planAttempt({ delivery: delivery({ state }), now: NOW, retryNowAfter: 2 })).toEqual({ action: 'done' });
    }
  });

  it('waits for the recorded next attempt, and sends once it is due (a little early counts)', () => {
    expect(planAttempt({ delivery: delivery(), now: NOW })).toEqual({ action: 'wait', until: NOW + 240_000 });
    expect(planAttempt({ delivery: delivery(), now: NOW + 240_000 - CLOCK_TOLERANCE_MS })).toEqual({ action: 'send' });
    expect(planAttempt({ delivery: delivery({ next_attempt_at: null }), now: NOW })).toEqual({ action: 'send' });
    // Records written before next_attempt_at existed: the Wait state already waited.
    expect(planAttempt({ delivery: delivery({ next_attempt_at: undefined, attempt_log: undefined }), now: NOW })).toEqual({ action: 'send' });
  });

  it('sends a retry-now attempt at once, only if no attempt was made since the call', () => {
    expect(planAttempt({ delivery: delivery(), now: NOW, retryNowAfter: 2 })).toEqual({ action: 'send' });
    expect(planAttempt({ delivery: delivery(), now: NOW, retryNowAfter: 1 })).toEqual({ action: 'done' });
  });

  it('lets a retry-now attempt in flight finish before the schedule decides, unless it is overdue', () => {
    const sentAt = NOW - 2_000;
    const inFlight = entry(3, { trigger: 'retry_now', finished: false, at: iso(sentAt), status_code: null, duration_ms: null, error: null });
    const racing = delivery({ next_attempt_at: null }, [entry(1), entry(2), inFlight]);
    expect(planAttempt({ delivery: racing, now: NOW })).toEqual({ action: 'wait', until: sentAt + IN_FLIGHT_GRACE_MS });
    expect(planAttempt({ delivery: racing, now: sentAt + IN_FLIGHT_GRACE_MS })).toEqual({ action: 'send' });
  });

  it('sends again after its own attempt whose run stopped before recording the answer', () => {
    const stopped = entry(3, { finished: false, at: iso(NOW - 1_000), status_code: null, duration_ms: null, error: null });
    expect(planAttempt({ delivery: delivery({ next_attempt_at: null }, [entry(1), entry(2), stopped]), now: NOW })).toEqual({ action: 'send' });
  });
});
