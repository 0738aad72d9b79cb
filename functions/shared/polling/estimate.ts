/**
 * How long a running generation has left, from its model's learned provider durations
 * (duration-history.ts): the distribution of a job's duration given that it has already
 * run `elapsed` seconds, read at its median and 90th percentile. Pure maths: the API
 * renders it with the record (functions/api/estimates.ts).
 *
 * With fewer than {@link MIN_LEARNED_SAMPLES} durations, or once a job has outlasted
 * every one of them, the seeds' figure stands in: a log-normal around the model's
 * typical duration, the prior the poll schedule starts from. Far past that too, nothing
 * honest can be said and there is no estimate.
 */
import { type DurationHistogram, bucketRange, histogramQuantile } from '#shared/polling/duration-history.js';
import { normalCdf, SEED_LOG_SIGMA } from '#shared/polling/seed-prior.js';
import { DEFAULT_TYPICAL_SECONDS, fromScheduleSeconds, toScheduleSeconds } from '#shared/polling/bounds.js';
import { TimelineKey } from '#shared/facts.js';
import { findModel } from '#shared/provider/models.js';

/** Below this many learned durations the seeds' figure is used: two samples make no distribution. */
export const MIN_LEARNED_SAMPLES = 3;
/** A job whose chance of still running under the seeds' figure is below this has no estimate. */
const MIN_DEFAULT_SURVIVAL = 1e-4;

export type EstimateBasis = 'learned' | 'default';

export interface RemainingEstimate {
  /** Seconds left, on the clock the durations were learned on. */
  p50: number;
  p90: number;
  basis: EstimateBasis;
  /** Learned durations behind the figures (0 for the default). */
  samples: number;
}

export interface RemainingInput {
  histogram: DurationHistogram;
  /** The registry's typical duration of the model (the seeds' figure). */
  typicalSeconds: number;
  /** Seconds since the provider accepted the job. */
  elapsedSeconds: number;
}

/**
 * The median and 90th percentile of the seconds left, given the time already spent;
 * null when the job has run far longer than anything known.
 *
 * @example
 * remainingSeconds({ histogram, typicalSeconds: 186, elapsedSeconds: 60 }); // { p50: 131, p90: 190, basis: 'learned', samples: 48 }
 */
export function remainingSeconds({ histogram, typicalSeconds, elapsedSeconds }: RemainingInput): RemainingEstimate | null {
  const elapsed = Math.max(0, elapsedSeconds);
  if (histogram.total >= MIN_LEARNED_SAMPLES) {
    const learned = learnedRemaining(histogram, elapsed);
    if (learned) return { ...learned, basis: 'learned', samples: histogram.total };
  }
  const fallback = defaultRemaining(typicalSeconds, elapsed);
  return fallback && { ...fallback, basis: 'default', samples: 0 };
}

/** Quantiles of the histogram's durations beyond `elapsed`; null when none lies beyond it. */
function learnedRemaining(histogram: DurationHistogram, elapsed: number): { p50: number; p90: number } | null {
  const below = countBelow(histogram, elapsed);
  const beyond = histogram.total - below;
  if (!(beyond > 1e-9)) return null;
  const at = (share: number): number => {
    const duration = histogramQuantile(histogram, (below + share * beyond) / histogram.total) ?? elapsed;
    return Math.max(0, duration - elapsed);
  };
  return { p50: at(0.5), p90: at(0.9) };
}

/**
 * Durations in the histogram shorter than `seconds`, spread within a bucket on a log
 * scale as {@link histogramQuantile} reads them (so the two agree).
 */
export function countBelow(histogram: DurationHistogram, seconds: number): number {
  let below = 0;
  for (const [bucket, count] of histogram.counts) {
    const { lower, upper } = bucketRange(bucket);
    if (seconds >= upper) below += count;
    else if (seconds > lower) below += (count * Math.log(seconds / lower)) / Math.log(upper / lower);
  }
  return below;
}

/** Quantiles of the seeds' log-normal beyond `elapsed`; null when it gives the job almost no chance of still running. */
function defaultRemaining(typicalSeconds: number, elapsed: number): { p50: number; p90: number } | null {
  const mu = Math.log(typicalSeconds);
  const done = elapsed > 0 ? normalCdf((Math.log(elapsed) - mu) / SEED_LOG_SIGMA) : 0;
  if (1 - done < MIN_DEFAULT_SURVIVAL) return null;
  const at = (share: number): number => Math.max(0, Math.exp(mu + SEED_LOG_SIGMA * inverseNormalCdf(done + share * (1 - done))) - elapsed);
  return { p50: at(0.5), p90: at(0.9) };
}

/** Φ⁻¹ by bisection on {@link normalCdf}: 60 halvings of [−10, 10] are far finer than a second. */
function inverseNormalCdf(p: number): number {
  let low = -10;
  let high = 10;
  for (let i = 0; i < 60; i += 1) {
    const middle = (low + high) / 2;
    if (normalCdf(middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** What an estimate is computed from: the parts of a record (stored or public) it reads. */
interface RecordProgress {
  status: string;
  model: string;
  /** When each step happened (#shared/facts.js TimelineKey). */
  timeline: Record<string, string>;
}

/** A running generation's estimate as the API renders it (docs/api.md, "estimate"). */
export interface GenerationEstimate {
  /** When the provider is expected to finish (the median); the copy into S3 follows. */
  completes_at: string;
  remaining_seconds: { p50: number; p90: number };
  basis: EstimateBasis;
  samples: number;
}

export interface GenerationEstimateInput {
  item: RecordProgress;
  /** The model's learned durations; undefined when they could not be read. */
  histogram: DurationHistogram | undefined;
  now: number;
  /** REELHOOK_WAIT_SCALE (1 in AWS): durations are learned on the schedule's clock. */
  waitScale: number;
}

/** True while the provider has the job and has not reported it done: the only time an estimate applies. */
export function isProviderWorking(item: Omit<RecordProgress, 'model'>): boolean {
  return item.status === 'generating' && Boolean(item.timeline[TimelineKey.ProviderAccepted]) && !item.timeline[TimelineKey.ProviderDone];
}

/**
 * The estimate of a record, or null: only a generation the provider is working on has
 * one. Queued ones have none (their wait depends on jobs of other generations, which
 * the record does not show), nor has one whose video is being copied (no copy
 * durations are learned), nor a finished one.
 *
 * @example
 * generationEstimate({ item, histogram, now: Date.now(), waitScale: 1 });
 */
export function generationEstimate({ item, histogram, now, waitScale }: GenerationEstimateInput): GenerationEstimate | null {
  const acceptedAt = item.timeline[TimelineKey.ProviderAccepted];
  if (!isProviderWorking(item) || !acceptedAt || !histogram) return null;
  const remaining = remainingSeconds({
    histogram,
    typicalSeconds: findModel(item.model)?.typicalSeconds ?? DEFAULT_TYPICAL_SECONDS,
    elapsedSeconds: toScheduleSeconds(Math.max(0, now - Date.parse(acceptedAt)) / 1000, waitScale),
  });
  if (!remaining) return null;
  const real = (seconds: number): number => Math.round(fromScheduleSeconds(seconds, waitScale) * 10) / 10;
  const p50 = real(remaining.p50);
  return {
    completes_at: new Date(now + p50 * 1000).toISOString(),
    remaining_seconds: { p50, p90: Math.max(p50, real(remaining.p90)) },
    basis: remaining.basis,
    samples: remaining.samples,
  };
}
