import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLLING_BOUNDS,
  pollingBoundsFromEnv,
  toScheduleSeconds,
  waitScaleFromEnv,
  waitUntil,
} from '#shared/polling/bounds.js';
import { EMPTY_HISTOGRAM, histogramOf, type DurationHistogram } from '#shared/polling/duration-history.js';
import { buildPollSchedule, clearScheduleCache, planNextCheck, type PollPosition } from '#shared/polling/schedule.js';

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

describe('planNextCheck at the expected end (a generation that waited for its slot)', () => {
  // Local mode's simulator bounds: checks 1–2 s apart, so the schedule's checks fall on 1, 3, 5, …
  const bounds = { firstCheckSeconds: 1, minIntervalSeconds: 1, maxIntervalSeconds: 2 };
  const sixteenSeconds = { loadHistogram: async () => histogramOf(Array(50).fill(16)) };
  const wait = (position: Partial<PollPosition>, checkAtExpectedEnd: boolean, history = sixteenSeconds, now = 0): Promise<number> =>
    planNextCheck({ model: 'sixteen', typicalSeconds: 186, history, bounds, elapsedSeconds: 15, polls: 8, remainingSeconds: 3600, checkAtExpectedEnd, now, ...position });

  it('checks when the learned duration ends instead of the schedule’s next check past it', async () => {
    clearScheduleCache();
    expect(await wait({}, false)).toBe(2);
    const atEnd = await wait({}, true);
    // The learned median (within its histogram bucket, ±2.2 %), not a whole second later.
    expect(15 + atEnd).toBeGreaterThan(15.6);
    expect(15 + atEnd).toBeLessThan(16.7);
  });

  it('keeps the minimum interval after a check, the schedule’s earlier checks and the deadline', async () => {
    clearScheduleCache();
    expect(await wait({ elapsedSeconds: 15.9 }, true)).toBe(bounds.minIntervalSeconds);
    expect(await wait({ elapsedSeconds: 5 }, true)).toBe(2);
    expect(await wait({ remainingSeconds: 0.5 }, true)).toBe(1);
  });

  it('adds one check at most: past the expected end, the schedule goes on alone', async () => {
    clearScheduleCache();
    expect(await wait({ elapsedSeconds: 16.5 }, true)).toBe(await wait({ elapsedSeconds: 16.5 }, false));
  });

  it('plans by the schedule alone while nothing is learned', async () => {
    clearScheduleCache();
    const seedsOnly = { loadHistogram: async () => EMPTY_HISTOGRAM };
    expect(await wait({}, true, seedsOnly)).toBe(await wait({}, false, seedsOnly));
  });

  it('reads a young history again within seconds, a grown one only after minutes', async () => {
    clearScheduleCache();
    let histogram: DurationHistogram = EMPTY_HISTOGRAM;
    let reads = 0;
    const growing = { loadHistogram: async () => ((reads += 1), histogram) };
    expect(await wait({}, true, growing, 0)).toBe(2);
    histogram = histogramOf(Array(300).fill(16));
    expect(await wait({}, true, growing, 5_000)).toBe(2);
    expect(reads).toBe(1);
    // Ten seconds on, the durations learned meanwhile move the check to the expected end.
    expect(await wait({}, true, growing, 11_000)).toBeLessThan(2);
    expect(reads).toBe(2);
    await wait({}, true, growing, 4 * 60_000);
    expect(reads).toBe(2);
    await wait({}, true, growing, 6 * 60_000);
    expect(reads).toBe(3);
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
