import { describe, expect, it } from 'vitest';
import { EMPTY_HISTOGRAM, histogramOf, type DurationHistogram } from '#shared/polling/duration-history.js';
import { countBelow, generationEstimate, MIN_LEARNED_SAMPLES, remainingSeconds } from '#shared/polling/estimate.js';
import { GenerationEstimates } from '../../functions/api/estimates.js';
import { publicGeneration } from '../support/public-generation.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';
/** 100 past jobs evenly spread over 100–200 s. */
const spread = histogramOf(Array.from({ length: 100 }, (_, i) => 100 + i + 0.5));

describe('remainingSeconds', () => {
  it('reads the learned median and 90th percentile of a job that just started', () => {
    const estimate = remainingSeconds({ histogram: spread, typicalSeconds: 186, elapsedSeconds: 0 });
    expect(estimate).toMatchObject({ basis: 'learned', samples: 100 });
    expect(Math.abs(estimate!.p50 - 150)).toBeLessThan(150 * 0.045);
    expect(Math.abs(estimate!.p90 - 190)).toBeLessThan(190 * 0.045);
  });

  it('conditions on the time already spent: only the jobs still running count', () => {
    // Past 150 s, the jobs left are those of 150–200 s: their median is 175 s.
    const estimate = remainingSeconds({ histogram: spread, typicalSeconds: 186, elapsedSeconds: 150 });
    expect(estimate!.basis).toBe('learned');
    expect(Math.abs(estimate!.p50 - 25)).toBeLessThan(175 * 0.045);
    expect(estimate!.p90).toBeGreaterThan(estimate!.p50);
    expect(estimate!.p90).toBeLessThan(55);
  });

  it('never shrinks the expected end as time passes', () => {
    let previousEnd = 0;
    for (let elapsed = 0; elapsed < 200; elapsed += 7) {
      const estimate = remainingSeconds({ histogram: spread, typicalSeconds: 186, elapsedSeconds: elapsed })!;
      expect(estimate.p50).toBeGreaterThanOrEqual(0);
      expect(estimate.p90).toBeGreaterThanOrEqual(estimate.p50);
      expect(elapsed + estimate.p50).toBeGreaterThanOrEqual(previousEnd - 1e-6);
      previousEnd = elapsed + estimate.p50;
    }
  });

  it('uses the seeds’ typical duration while fewer than three durations are learned', () => {
    const thin = histogramOf([10, 11].slice(0, MIN_LEARNED_SAMPLES - 1));
    const estimate = remainingSeconds({ histogram: thin, typicalSeconds: 186, elapsedSeconds: 0 });
    expect(estimate).toMatchObject({ basis: 'default', samples: 0 });
    // The log-normal's median is the typical duration.
    expect(estimate!.p50).toBeCloseTo(186, 0);
    expect(estimate!.p90).toBeGreaterThan(186 * 1.4);
    expect(estimate!.p90).toBeLessThan(186 * 1.7);
  });

  it('falls back to the seeds’ figure once a job outlasts every learned duration, and gives up far past it', () => {
    const overdue = remainingSeconds({ histogram: spread, typicalSeconds: 186, elapsedSeconds: 300 });
    expect(overdue?.basis).toBe('default');
    expect(overdue!.p50).toBeGreaterThan(0);
    expect(remainingSeconds({ histogram: EMPTY_HISTOGRAM, typicalSeconds: 186, elapsedSeconds: 186 * 10 })).toBeNull();
  });

  it('counts durations below a time as the quantiles read them', () => {
    expect(countBelow(spread, 0)).toBe(0);
    expect(countBelow(spread, 1000)).toBe(100);
    expect(Math.abs(countBelow(spread, 150) - 50)).toBeLessThan(3);
  });
});

const record = publicGeneration;

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('generationEstimate', () => {
  it('dates the median end from the provider’s acceptance, in real seconds under a wait scale', () => {
    // At scale 0.1 the schedule's 150 s elapse in 15 real seconds.
    const estimate = generationEstimate({ item: record({}), histogram: spread, now: T0 + 15_000, waitScale: 0.1 })!;
    expect(estimate.basis).toBe('learned');
    expect(estimate.remaining_seconds.p50).toBeGreaterThan(1.5);
    expect(estimate.remaining_seconds.p50).toBeLessThan(3.5);
    expect(Date.parse(estimate.completes_at)).toBe(T0 + 15_000 + estimate.remaining_seconds.p50 * 1000);
  });

  it('is null while queued, while the video is copied, once finished, and without a history', () => {
    const now = T0 + 10_000;
    expect(generationEstimate({ item: record({ status: 'queued', timeline: { accepted: '2026-01-01T00:00:00.000Z' } }), histogram: spread, now, waitScale: 1 })).toBeNull();
    const copying = record({ timeline: { provider_accepted: '2026-01-01T00:00:00.000Z', provider_done: '2026-01-01T00:00:05.000Z' } });
    expect(generationEstimate({ item: copying, histogram: spread, now, waitScale: 1 })).toBeNull();
    expect(generationEstimate({ item: record({ status: 'completed' }), histogram: spread, now, waitScale: 1 })).toBeNull();
    expect(generationEstimate({ item: record({}), histogram: undefined, now, waitScale: 1 })).toBeNull();
  });
});

describe('GenerationEstimates', () => {
  function countingSource(load: (model: string, month: string) => Promise<DurationHistogram>) {
    const reads: string[] = [];
    const source = {
      months: () => ({ current: '2026-01', previous: '2025-12' }),
      loadMonth: (model: string, month: string) => {
        reads.push(`${model} ${month}`);
        return load(model, month);
      },
    };
    return { source, reads };
  }

  it('reads a model’s months once for a whole page and reuses them for the next requests', async () => {
    const { source, reads } = countingSource(async (_model, month) => (month === '2026-01' ? spread : EMPTY_HISTOGRAM));
    let now = T0 + 60_000;
    const estimates = new GenerationEstimates(source, { waitScale: 1, clock: () => now });
    const page = await estimates.attach([record({}), record({ id: 'gen_01jd0000000000000000000001' }), record({ status: 'completed' })]);
    expect(page.map((shown) => shown.estimate?.samples ?? null)).toEqual([100, 100, null]);
    expect(reads).toEqual([`${MODEL} 2026-01`, `${MODEL} 2025-12`]);
    now += 10_000;
    await estimates.attach([record({})]);
    expect(reads).toHaveLength(2);
    // Past the current month's short cache only that month is read again.
    now += 30_000;
    await estimates.attach([record({})]);
    expect(reads).toEqual([`${MODEL} 2026-01`, `${MODEL} 2025-12`, `${MODEL} 2026-01`]);
  });

  it('reads nothing for records the provider is not working on', async () => {
    const { source, reads } = countingSource(async () => spread);
    const estimates = new GenerationEstimates(source, { waitScale: 1 });
    const [queued] = await estimates.attach([record({ status: 'queued', timeline: {} })]);
    expect(queued).toHaveProperty('estimate', null);
    expect(reads).toEqual([]);
  });

  it('answers without an estimate when the history cannot be read', async () => {
    const { source } = countingSource(async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    const estimates = new GenerationEstimates(source, { waitScale: 1, clock: () => T0 + 60_000 });
    const [shown] = await estimates.attach([record({})]);
    expect(shown).toHaveProperty('estimate', null);
  });
});
