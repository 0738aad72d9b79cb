import { describe, expect, it } from 'vitest';
import { DEFAULT_POLLING_BOUNDS, nextWaitSeconds, pollingBoundsFromEnv, waitScaleFromEnv, waitUntil } from '#shared/polling.js';

describe('nextWaitSeconds', () => {
  const base = { typicalSeconds: 186, elapsedSeconds: 0, polls: 0, remainingSeconds: 3600 };

  it('waits for most of the typical duration before the first check', () => {
    expect(nextWaitSeconds(base)).toBe(Math.min(60, Math.round(186 * 0.6)));
  });

  it('uses the configured first check when one is set', () => {
    expect(nextWaitSeconds(base, { ...DEFAULT_POLLING_BOUNDS, firstCheckSeconds: 1 })).toBe(1);
  });

  it('checks at the minimum interval soon after the first check and backs off on the long tail', () => {
    const soon = nextWaitSeconds({ ...base, polls: 1, elapsedSeconds: 60 });
    const late = nextWaitSeconds({ ...base, polls: 20, elapsedSeconds: 900 });
    const veryLate = nextWaitSeconds({ ...base, polls: 40, elapsedSeconds: 3000 });
    expect(soon).toBe(DEFAULT_POLLING_BOUNDS.minIntervalSeconds);
    expect(late).toBeGreaterThan(soon);
    expect(veryLate).toBe(DEFAULT_POLLING_BOUNDS.maxIntervalSeconds);
  });

  it('never plans a check past the deadline', () => {
    expect(nextWaitSeconds({ ...base, remainingSeconds: 3.2 })).toBe(4);
    expect(nextWaitSeconds({ ...base, remainingSeconds: -5 })).toBe(0);
  });
});

describe('waitUntil', () => {
  const now = Date.parse('2026-01-01T00:00:00.250Z');

  it('rounds up to whole seconds at scale 1 (the plain RFC 3339 form Step Functions accepts)', () => {
    expect(waitUntil(10, 1, now)).toBe('2026-01-01T00:00:11Z');
  });

  it('scales the wait locally and keeps milliseconds', () => {
    expect(waitUntil(10, 0.01, now)).toBe('2026-01-01T00:00:00.350Z');
    expect(waitUntil(10, 0, now)).toBe('2026-01-01T00:00:00.250Z');
  });
});

describe('configuration from the environment', () => {
  it('reads polling bounds and rejects nonsense', () => {
    expect(pollingBoundsFromEnv({ REELHOOK_POLL_FIRST_SECONDS: '2', REELHOOK_POLL_MIN_SECONDS: '1' })).toEqual({
      firstCheckSeconds: 2,
      minIntervalSeconds: 1,
      maxIntervalSeconds: DEFAULT_POLLING_BOUNDS.maxIntervalSeconds,
    });
    expect(() => pollingBoundsFromEnv({ REELHOOK_POLL_MIN_SECONDS: '-1' })).toThrow(/REELHOOK_POLL_MIN_SECONDS/);
  });

  it('defaults the wait scale to 1 and rejects negative values', () => {
    expect(waitScaleFromEnv({})).toBe(1);
    expect(waitScaleFromEnv({ REELHOOK_WAIT_SCALE: '0' })).toBe(0);
    expect(() => waitScaleFromEnv({ REELHOOK_WAIT_SCALE: 'fast' })).toThrow(/REELHOOK_WAIT_SCALE/);
  });
});
