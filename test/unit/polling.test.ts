import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLLING_BOUNDS,
  pollingBoundsFromEnv,
  toScheduleSeconds,
  waitScaleFromEnv,
  waitUntil,
} from '#shared/polling/bounds.js';
import { EMPTY_HISTOGRAM } from '#shared/polling/duration-history.js';
import { buildPollSchedule, planNextCheck, type PollPosition } from '#shared/polling/schedule.js';

describe('planNextCheck for a model without history', () => {
  const base: PollPosition = { elapsedSeconds: 0, polls: 0, remainingSeconds: 3600 };
  const noHistory = { loadHistogram: async () => EMPTY_HISTOGRAM };
  const nextWaitSeconds = (position: PollPosition, bounds = DEFAULT_POLLING_BOUNDS): Promise<number> =>
    planNextCheck({ model: 'no-history', typicalSeconds: 186, history: noHistory, bounds, ...position });
  const seedSchedule = buildPollSchedule({ histogram: EMPTY_HISTOGRAM, typicalSeconds: 186, bounds: DEFAULT_POLLING_BOUNDS });

  it('waits for the first check of the seeds’ schedule, well into the typical duration', async () => {
    const first = await nextWaitSeconds(base);
    expect(first).toBe(seedSchedule.offsets[0]);
    expect(first).toBeGreaterThan(186 / 2);
    expect(first).toBeLessThan(186);
  });

  it('uses the configured first check when one is set', async () => {
    expect(await nextWaitSeconds(base, { ...DEFAULT_POLLING_BOUNDS, firstCheckSeconds: 1 })).toBe(1);
  });

  it('waits up to the next planned check, then backs off within the bounds on the long tail', async () => {
    const [first, second] = seedSchedule.offsets;
    expect(await nextWaitSeconds({ ...base, polls: 1, elapsedSeconds: first! })).toBe(second! - first!);
    const late = await nextWaitSeconds({ ...base, polls: 40, elapsedSeconds: 2000 });
    expect(late).toBeGreaterThanOrEqual(DEFAULT_POLLING_BOUNDS.minIntervalSeconds);
    expect(late).toBeLessThanOrEqual(DEFAULT_POLLING_BOUNDS.maxIntervalSeconds);
    expect(await nextWaitSeconds({ ...base, polls: 60, elapsedSeconds: 30_000 })).toBe(DEFAULT_POLLING_BOUNDS.maxIntervalSeconds);
  });

  it('never plans a check past the deadline', async () => {
    expect(await nextWaitSeconds({ ...base, remainingSeconds: 3.2 })).toBe(4);
    expect(await nextWaitSeconds({ ...base, remainingSeconds: -5 })).toBe(0);
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

describe('toScheduleSeconds', () => {
  it('counts real seconds on the scaled clock of local mode', () => {
    expect(toScheduleSeconds(12, 1)).toBe(12);
    expect(toScheduleSeconds(0.5, 0.01)).toBe(50);
    expect(toScheduleSeconds(3, 0)).toBe(3);
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

  it('rejects a maximum interval below the minimum', () => {
    expect(() => pollingBoundsFromEnv({ REELHOOK_POLL_MIN_SECONDS: '10', REELHOOK_POLL_MAX_SECONDS: '5' })).toThrow(
      /REELHOOK_POLL_MAX_SECONDS/,
    );
  });

  it('defaults the wait scale to 1 and rejects negative values', () => {
    expect(waitScaleFromEnv({})).toBe(1);
    expect(waitScaleFromEnv({ REELHOOK_WAIT_SCALE: '0' })).toBe(0);
    expect(() => waitScaleFromEnv({ REELHOOK_WAIT_SCALE: 'fast' })).toThrow(/REELHOOK_WAIT_SCALE/);
  });
});
