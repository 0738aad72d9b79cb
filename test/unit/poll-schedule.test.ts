import { afterEach, describe, expect, it, vi } from 'vitest';
import { EMPTY_HISTOGRAM, histogramOf, type DurationHistogram } from '#shared/polling/duration-history.js';
import {
  buildPollSchedule,
  clearScheduleCache,
  MAX_PLANNED_CHECKS,
  planNextCheck,
  type PollSchedule,
  waitFromSchedule,
} from '#shared/polling/schedule.js';
import { DEFAULT_POLLING_BOUNDS, type PollingBounds } from '#shared/polling/bounds.js';

/** Deterministic log-normal durations (mulberry32 + Box–Muller). */
function logNormalSample(count: number, median: number, sigma: number, seed = 7): number[] {
  let state = seed;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    return median * Math.exp(sigma * normal);
  });
}

/** Plays each duration through the schedule as the create and status steps would; mean checks and lag. */
function simulate(schedule: PollSchedule, durations: number[], bounds: PollingBounds): { checks: number; lag: number } {
  let checks = 0;
  let lag = 0;
  for (const duration of durations) {
    let elapsed = 0;
    let polls = 0;
    do {
      elapsed += waitFromSchedule(schedule, { elapsedSeconds: elapsed, polls, remainingSeconds: 86_400 }, bounds);
      polls += 1;
    } while (elapsed < duration);
    checks += polls;
    lag += elapsed - duration;
  }
  return { checks: checks / durations.length, lag: lag / durations.length };
}

/** The seeds' loop: a check at once, then every 15 s. */
function seedLoop(durations: number[]): { checks: number; lag: number } {
  let checks = 0;
  let lag = 0;
  for (const duration of durations) {
    const intervals = Math.ceil(duration / 15);
    checks += 1 + intervals;
    lag += intervals * 15 - duration;
  }
  return { checks: checks / durations.length, lag: lag / durations.length };
}

const scheduleFor = (histogram: DurationHistogram, bounds: PollingBounds = DEFAULT_POLLING_BOUNDS) =>
  buildPollSchedule({ histogram, typicalSeconds: 186, bounds });

describe('buildPollSchedule', () => {
  const history = histogramOf(logNormalSample(2000, 186, 0.2));

  it('plans strictly increasing check times with gaps within the bounds', () => {
    const { offsets } = scheduleFor(history);
    expect(offsets.length).toBeGreaterThan(3);
    expect(offsets[0]).toBeGreaterThanOrEqual(DEFAULT_POLLING_BOUNDS.minIntervalSeconds);
    for (let i = 1; i < offsets.length; i += 1) {
      const gap = offsets[i]! - offsets[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(DEFAULT_POLLING_BOUNDS.minIntervalSeconds);
      expect(gap).toBeLessThanOrEqual(DEFAULT_POLLING_BOUNDS.maxIntervalSeconds);
    }
  });

  it('keeps to the bounds local mode sets for the simulator (first 1 s, then every 1–2 s)', () => {
    const bounds = { firstCheckSeconds: 1, minIntervalSeconds: 1, maxIntervalSeconds: 2 };
    const { offsets } = buildPollSchedule({ histogram: histogramOf([3, 3.1, 2.9]), typicalSeconds: 3, bounds });
    expect(offsets[0]).toBe(1);
    for (let i = 1; i < offsets.length; i += 1) expect(offsets[i]! - offsets[i - 1]!).toBeLessThanOrEqual(2);
  });

  it('starts at the configured first check', () => {
    expect(scheduleFor(history, { ...DEFAULT_POLLING_BOUNDS, firstCheckSeconds: 30 }).offsets[0]).toBe(30);
  });

  it('falls back to the seeds’ typical duration without history', () => {
    const seeds = scheduleFor(EMPTY_HISTOGRAM);
    expect(seeds.offsets[0]).toBeGreaterThan(186 * 0.5);
    expect(seeds.offsets[0]).toBeLessThan(186);
    expect(seeds.expected.lagSeconds).toBeLessThanOrEqual(seeds.expected.seedLoopLagSeconds + 1e-9);
    // A model that typically takes ten times as long is first checked much later.
    const slow = buildPollSchedule({ histogram: EMPTY_HISTOGRAM, typicalSeconds: 1860, bounds: DEFAULT_POLLING_BOUNDS });
    expect(slow.offsets[0]).toBeGreaterThan(5 * seeds.offsets[0]!);
  });

  it('follows the history once there is enough of it', () => {
    const slower = scheduleFor(histogramOf(logNormalSample(2000, 300, 0.2)));
    expect(slower.offsets[0]).toBeGreaterThan(scheduleFor(history).offsets[0]! + 60);
  });

  it('checks far less often than the 15 s loop and notices completion no later on average', () => {
    const schedule = scheduleFor(history);
    const population = logNormalSample(5000, 186, 0.2, 99);
    const adaptive = simulate(schedule, population, DEFAULT_POLLING_BOUNDS);
    const loop = seedLoop(population);
    expect(adaptive.lag).toBeLessThanOrEqual(loop.lag);
    expect(adaptive.checks).toBeLessThan(0.5 * loop.checks);
    // The planner's own expectation matches what the population sees.
    expect(schedule.expected.checks).toBeCloseTo(adaptive.checks, 0);
  });

  it('spends fewer checks on a narrower distribution at the same lag', () => {
    const population = (sigma: number) => logNormalSample(4000, 186, sigma, 5);
    const checksAt = (sigma: number) =>
      simulate(scheduleFor(histogramOf(logNormalSample(2000, 186, sigma))), population(sigma), DEFAULT_POLLING_BOUNDS).checks;
    expect(checksAt(0.1)).toBeLessThan(checksAt(0.2));
    expect(checksAt(0.2)).toBeLessThan(checksAt(0.3));
  });

  it('plans a bounded number of checks however widely the durations spread', () => {
    const wide = histogramOf(logNormalSample(2000, 3 * 3600, 1.2));
    const { offsets } = buildPollSchedule({ histogram: wide, typicalSeconds: 186, bounds: { ...DEFAULT_POLLING_BOUNDS, minIntervalSeconds: 1 } });
    expect(offsets.length).toBeLessThanOrEqual(MAX_PLANNED_CHECKS);
  });

  it('needs about one check when every job takes the same time', () => {
    const schedule = scheduleFor(histogramOf(Array.from({ length: 5000 }, () => 200)));
    const { checks, lag } = simulate(schedule, Array.from({ length: 100 }, () => 200), DEFAULT_POLLING_BOUNDS);
    expect(checks).toBeLessThanOrEqual(2);
    expect(lag).toBeLessThan(15);
  });
});

describe('waitFromSchedule', () => {
  const schedule: PollSchedule = { offsets: [100, 120, 130], expected: { checks: 0, lagSeconds: 0, seedLoopLagSeconds: 0 } };
  const bounds = DEFAULT_POLLING_BOUNDS;
  const at = (elapsedSeconds: number, polls: number, remainingSeconds = 3600) =>
    waitFromSchedule(schedule, { elapsedSeconds, polls, remainingSeconds }, bounds);

  it('waits until the next planned check', () => {
    expect(at(0, 0)).toBe(100);
    expect(at(100.4, 1)).toBe(20);
    expect(at(121, 2)).toBe(9);
  });

  it('waits at least the minimum interval after a late check', () => {
    expect(at(128, 2)).toBe(bounds.minIntervalSeconds);
  });

  it('backs off geometrically past the plan, within the bounds', () => {
    expect(at(130, 3)).toBe(13);
    expect(at(400, 8)).toBe(40);
    expect(at(5000, 30)).toBe(bounds.maxIntervalSeconds);
  });

  it('never waits past the deadline', () => {
    expect(at(0, 0, 42.5)).toBe(43);
    expect(at(130, 3, -1)).toBe(0);
  });
});

describe('planNextCheck', () => {
  afterEach(() => {
    clearScheduleCache();
  });
  const request = {
    model: 'kling-video/v1.6/standard/text-to-video',
    typicalSeconds: 186,
    elapsedSeconds: 0,
    polls: 0,
    remainingSeconds: 3600,
    bounds: DEFAULT_POLLING_BOUNDS,
  };

  it('plans from the model’s history and reads it once per few minutes', async () => {
    const histogram = histogramOf(logNormalSample(2000, 300, 0.2));
    const history = { loadHistogram: vi.fn(async () => histogram) };
    const expected = scheduleFor(histogram).offsets[0];
    const now = Date.parse('2026-01-01T00:00:00Z');
    const waits = await Promise.all([1, 2, 3].map(() => planNextCheck({ ...request, history, now })));
    expect(waits).toEqual([expected, expected, expected]);
    await planNextCheck({ ...request, history, now: now + 60_000 });
    expect(history.loadHistogram).toHaveBeenCalledTimes(1);
    await planNextCheck({ ...request, history, now: now + 10 * 60_000 });
    expect(history.loadHistogram).toHaveBeenCalledTimes(2);
    expect(history.loadHistogram).toHaveBeenCalledWith(request.model);
  });

  it('uses the seeds’ schedule when the history cannot be read, and tries again soon', async () => {
    const history = { loadHistogram: vi.fn(async (): Promise<DurationHistogram> => Promise.reject(new Error('throttled'))) };
    const now = Date.parse('2026-01-01T00:00:00Z');
    await expect(planNextCheck({ ...request, history, now })).resolves.toBe(scheduleFor(EMPTY_HISTOGRAM).offsets[0]);
    await planNextCheck({ ...request, history, now: now + 60_000 });
    expect(history.loadHistogram).toHaveBeenCalledTimes(2);
  });
});
