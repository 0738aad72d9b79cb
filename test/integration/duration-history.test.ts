import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketOf,
  bucketRange,
  DurationHistory,
  estimatedDurationSeconds,
  HISTOGRAM_LAYOUT,
  histogramFromItem,
  histogramOf,
  histogramQuantile,
  mergeHistograms,
  modelStatsKey,
} from '#shared/polling/duration-history.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

describe('histogram maths', () => {
  it('puts every duration in a bucket whose range holds it, each about 4.4 % wide', () => {
    for (const seconds of [1.5, 9.99, 60, 186, 186.0001, 3600, 86_399]) {
      const { lower, upper } = bucketRange(bucketOf(seconds));
      expect(lower).toBeLessThanOrEqual(seconds);
      expect(upper).toBeGreaterThan(seconds);
      expect(upper / lower).toBeCloseTo(1.0443, 4);
    }
  });

  it('keeps durations out of range in the first and last buckets', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.2)).toBe(0);
    expect(bucketOf(10 ** 9)).toBe(HISTOGRAM_LAYOUT.buckets - 1);
  });

  it('orders buckets like durations', () => {
    const durations = [3, 50, 51, 186, 190, 600, 4000];
    const buckets = durations.map(bucketOf);
    expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
  });

  it('finds quantiles within a bucket’s width', () => {
    const durations = Array.from({ length: 1001 }, (_, i) => 100 + i * 0.2);
    const histogram = histogramOf(durations);
    expect(histogram.total).toBe(1001);
    expect(histogramQuantile(histogram, 0.5)! / 200).toBeCloseTo(1, 1);
    expect(Math.abs(histogramQuantile(histogram, 0.5)! - 200)).toBeLessThan(200 * 0.045);
    expect(histogramQuantile(histogram, 0)).toBeGreaterThanOrEqual(bucketRange(bucketOf(100)).lower);
    expect(histogramQuantile(histogramOf([]), 0.5)).toBeUndefined();
  });

  it('merges histograms by adding counts', () => {
    const merged = mergeHistograms(histogramOf([186, 186, 300]), histogramOf([186]));
    expect(merged.total).toBe(4);
    expect(merged.counts.get(bucketOf(186))).toBe(3);
    expect(merged.counts.get(bucketOf(300))).toBe(1);
  });

  it('reads the bucket counters of a stored item and nothing else', () => {
    const histogram = histogramFromItem({ pk: 'MODELSTATS#m#2026-01', b118: 3, b120: 1, b9999: 4, total: 4, sum_seconds: 700, model: 'm' });
    expect(histogram.total).toBe(4);
    expect([...histogram.counts]).toEqual([
      [118, 3],
      [120, 1],
    ]);
    expect(histogramFromItem(undefined).total).toBe(0);
  });
});

describe('estimatedDurationSeconds', () => {
  it('dates a completion found at a check to the middle of the span since the previous one', () => {
    expect(estimatedDurationSeconds(200, 12)).toBe(194);
    expect(estimatedDurationSeconds(150, 150)).toBe(75);
    expect(estimatedDurationSeconds(1, 4)).toBe(0);
  });
});

describe('DurationHistory against dynalite', () => {
  const model = 'kling-video/v1.6/standard/text-to-video';
  let table: LocalTable;

  beforeAll(async () => {
    table = await startLocalTable('reelhook-durations');
  });

  afterAll(async () => {
    await table?.close();
  });

  it('counts every one of many concurrent recordings (atomic ADD, no read first)', async () => {
    const history = new DurationHistory(table.db, table.tableName, () => new Date('2026-03-15T00:00:00Z'));
    const durations = Array.from({ length: 120 }, (_, i) => 150 + (i % 60));
    await Promise.all(durations.map((seconds) => history.recordDuration(model, seconds)));
    const histogram = await history.loadHistogram(model);
    expect(histogram.total).toBe(120);
    expect(histogram).toEqual(histogramOf(durations));
  });

  it('merges this month with the last one and leaves older months out', async () => {
    const at = (iso: string) => new DurationHistory(table.db, table.tableName, () => new Date(iso));
    const other = 'kling-video/v1/standard/text-to-video';
    await at('2026-01-20T00:00:00Z').recordDuration(other, 400);
    await at('2026-02-10T00:00:00Z').recordDuration(other, 200);
    await at('2026-03-01T00:00:00Z').recordDuration(other, 190);
    const histogram = await at('2026-03-02T00:00:00Z').loadHistogram(other);
    expect(histogram).toEqual(histogramOf([200, 190]));
  });

  it('ignores durations that are not a number of seconds', async () => {
    const history = new DurationHistory(table.db, table.tableName, () => new Date('2026-05-01T00:00:00Z'));
    await history.recordDuration('empty-model', Number.NaN);
    await history.recordDuration('empty-model', -3);
    expect((await history.loadHistogram('empty-model')).total).toBe(0);
  });

  it('keys each model and month apart from the generation records', () => {
    expect(modelStatsKey(model, '2026-03')).toBe(`MODELSTATS#${model}#2026-03`);
  });
});
