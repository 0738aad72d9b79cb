/**
 * How long each model's provider took (accepted → reported completed), kept in the
 * app's table as one histogram item per model and calendar month, with log-spaced
 * buckets: a bucket is about 4.4 % wide, so a duration is known to ±2.2 % whatever its
 * size, and the item stays small (a few hundred counters at most).
 *
 * Recording is a single `ADD` of 1 to a bucket counter (plus the count and the sum):
 * atomic on the server, so any number of concurrent Lambdas record without reading
 * first, without conditions and without transactions. Reading merges the current and
 * the previous month, so the history follows a provider that gets faster or slower.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TableLayout } from '#shared/records/table-layout.js';

/** Bucket i holds durations in [EDGE·GROWTH^i, EDGE·GROWTH^(i+1)); the first and last also hold what lies beyond. */
export const HISTOGRAM_LAYOUT = {
  firstEdgeSeconds: 1,
  growth: 2 ** (1 / 16),
  /** 16 buckets per doubling up to 2^18 s (three days): longer is a failure, not a duration. */
  buckets: 16 * 18,
} as const;

/** Counts per bucket index (only non-empty buckets present). */
export interface DurationHistogram {
  counts: ReadonlyMap<number, number>;
  /** Sum of the counts. */
  total: number;
}

export const EMPTY_HISTOGRAM: DurationHistogram = { counts: new Map(), total: 0 };

/** The bucket a duration falls in. */
export function bucketOf(seconds: number): number {
  const { firstEdgeSeconds, growth, buckets } = HISTOGRAM_LAYOUT;
  if (!(seconds > firstEdgeSeconds)) return 0;
  const index = Math.floor(Math.log(seconds / firstEdgeSeconds) / Math.log(growth));
  return Math.min(buckets - 1, index);
}

/** The [lower, upper) range of durations a bucket stands for. */
export function bucketRange(index: number): { lower: number; upper: number } {
  const { firstEdgeSeconds, growth } = HISTOGRAM_LAYOUT;
  return { lower: firstEdgeSeconds * growth ** index, upper: firstEdgeSeconds * growth ** (index + 1) };
}

/** A histogram of the given durations, bucketed as the table stores them. */
export function histogramOf(durations: Iterable<number>): DurationHistogram {
  const counts = new Map<number, number>();
  let total = 0;
  for (const seconds of durations) {
    const bucket = bucketOf(seconds);
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    total += 1;
  }
  return { counts, total };
}

export function mergeHistograms(...histograms: DurationHistogram[]): DurationHistogram {
  const counts = new Map<number, number>();
  let total = 0;
  for (const histogram of histograms) {
    for (const [bucket, count] of histogram.counts) counts.set(bucket, (counts.get(bucket) ?? 0) + count);
    total += histogram.total;
  }
  return { counts, total };
}

/**
 * The duration below which `share` (0..1) of the histogram lies, interpolated within
 * the bucket on a log scale; undefined for an empty histogram.
 */
export function histogramQuantile(histogram: DurationHistogram, share: number): number | undefined {
  if (histogram.total === 0) return undefined;
  const target = Math.min(1, Math.max(0, share)) * histogram.total;
  let below = 0;
  for (const bucket of [...histogram.counts.keys()].sort((a, b) => a - b)) {
    const count = histogram.counts.get(bucket) ?? 0;
    if (below + count >= target && count > 0) {
      const { lower, upper } = bucketRange(bucket);
      return lower * (upper / lower) ** ((target - below) / count);
    }
    below += count;
  }
  return undefined;
}

/**
 * The duration to record for a job found finished: the provider completed somewhere
 * between the previous check and this one, so the middle of that span (unbiased when
 * completions spread evenly over it; recording the detection time would add the lag).
 */
export function estimatedDurationSeconds(elapsedSeconds: number, lastWaitSeconds: number): number {
  return Math.max(0, elapsedSeconds - lastWaitSeconds / 2);
}

const BUCKET_ATTRIBUTE_PREFIX = 'b';
const BUCKET_ATTRIBUTE = /^b(\d+)$/;
/** Months of history kept past the current one: the item's TTL removes older ones. */
const RETENTION_SECONDS = 62 * 24 * 3600;

export const modelStatsKey = (model: string, month: string): string => `MODELSTATS#${model}#${month}`;

/** `YYYY-MM` of the instant (UTC), and of the month before it. */
function monthsOf(now: Date): { current: string; previous: string } {
  const current = now.toISOString().slice(0, 7);
  const previous = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  return { current, previous };
}

/**
 * @example
 * const history = new DurationHistory(createDocumentClient(), tableName());
 * await history.recordDuration('kling-video/v1.6/standard/text-to-video', 184.5);
 * const histogram = await history.loadHistogram('kling-video/v1.6/standard/text-to-video');
 */
export class DurationHistory {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Adds one duration to the model's histogram of this month. Non-finite or negative durations are ignored. */
  async recordDuration(model: string, seconds: number): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const now = this.clock();
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [TableLayout.partitionKey]: modelStatsKey(model, monthsOf(now).current) },
        UpdateExpression: 'ADD #bucket :one, #total :one, #sum :seconds SET #model = :model, #expires = :expires',
        ExpressionAttributeNames: {
          '#bucket': `${BUCKET_ATTRIBUTE_PREFIX}${bucketOf(seconds)}`,
          '#total': 'total',
          '#sum': 'sum_seconds',
          '#model': 'model',
          '#expires': TableLayout.ttlAttribute,
        },
        ExpressionAttributeValues: {
          ':one': 1,
          ':seconds': seconds,
          ':model': model,
          ':expires': Math.floor(now.getTime() / 1000) + RETENTION_SECONDS,
        },
      }),
    );
  }

  /** The model's durations of this month and the previous one (empty when there are none). */
  async loadHistogram(model: string): Promise<DurationHistogram> {
    const { current, previous } = this.months();
    return mergeHistograms(...(await Promise.all([current, previous].map((month) => this.loadMonth(model, month)))));
  }

  /** The `YYYY-MM` months {@link loadHistogram} merges: the clock's (which alone is still recorded into) and the one before. */
  months(): { current: string; previous: string } {
    return monthsOf(this.clock());
  }

  /** One month of the model's durations (one GetItem). */
  async loadMonth(model: string, month: string): Promise<DurationHistogram> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { [TableLayout.partitionKey]: modelStatsKey(model, month) } }));
    return histogramFromItem(Item);
  }
}

/** The bucket counters of a stored item; anything else on it is ignored. */
export function histogramFromItem(item: Record<string, unknown> | undefined): DurationHistogram {
  const counts = new Map<number, number>();
  let total = 0;
  for (const [name, value] of Object.entries(item ?? {})) {
    const bucket = BUCKET_ATTRIBUTE.exec(name)?.[1];
    if (bucket === undefined || typeof value !== 'number' || !(value > 0)) continue;
    const index = Number(bucket);
    if (index >= HISTOGRAM_LAYOUT.buckets) continue;
    counts.set(index, (counts.get(index) ?? 0) + value);
    total += value;
  }
  return { counts, total };
}
