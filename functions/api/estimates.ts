/**
 * The `estimate` of the records the API answers (docs/api.md): computed when a record
 * is rendered, from the model's learned provider durations, so it is as fresh as the
 * answer and never stored. Webhooks and events carry no estimate: they are snapshots,
 * retried for a day, where a remaining time would go stale.
 *
 * The durations are read per model and cached: the current month for
 * {@link CURRENT_MONTH_TTL_MS} (the pollers keep adding to it), the previous month far
 * longer, since nothing is recorded into a past month. A request thus reads at most one
 * item per model once warm. A failed read never fails the request: the record then has
 * no estimate, and the read is tried again a few seconds later.
 */
import { mergeHistograms, type DurationHistogram } from '#shared/polling/duration-history.js';
import { generationEstimate, isProviderWorking } from '#shared/polling/estimate.js';
import type { PublicGeneration } from '#shared/records/record.js';

/** How long a model's current-month durations are reused before they are read again. */
const CURRENT_MONTH_TTL_MS = 30_000;
/** A past month's durations no longer change; an hour bounds the effect of a late write from a skewed clock. */
const PAST_MONTH_TTL_MS = 3_600_000;
/** After a failed read, records have no estimate for this long before the next try. */
const FAILED_READ_TTL_MS = 5_000;

/** Where the learned durations are read: DurationHistory in the handler. */
export interface MonthlyDurations {
  months(): { current: string; previous: string };
  loadMonth(model: string, month: string): Promise<DurationHistogram>;
}

interface CachedMonth {
  histogram: Promise<DurationHistogram | undefined>;
  expiresAt: number;
}

/**
 * @example
 * const estimates = new GenerationEstimates(new DurationHistory(db, table), { waitScale: waitScaleFromEnv() });
 * const [shown] = await estimates.attach([toPublicGeneration(item, url)]);
 */
export class GenerationEstimates {
  private readonly cache = new Map<string, CachedMonth>();
  private readonly clock: () => number;
  private readonly waitScale: number;

  constructor(
    private readonly durations: MonthlyDurations,
    options: { waitScale: number; clock?: () => number },
  ) {
    this.waitScale = options.waitScale;
    this.clock = options.clock ?? Date.now;
  }

  /** The records with their `estimate` (null where none applies); only running ones cause a read. */
  async attach(records: PublicGeneration[]): Promise<PublicGeneration[]> {
    const now = this.clock();
    const running = new Set(records.filter(isProviderWorking).map((record) => record.model));
    const histograms = new Map(await Promise.all([...running].map(async (model) => [model, await this.histogramOf(model, now)] as const)));
    return records.map((record) => ({
      ...record,
      estimate: generationEstimate({ item: record, histogram: histograms.get(record.model), now, waitScale: this.waitScale }),
    }));
  }

  private async histogramOf(model: string, now: number): Promise<DurationHistogram | undefined> {
    const { current, previous } = this.durations.months();
    const [recent, past] = await Promise.all([this.month(model, current, CURRENT_MONTH_TTL_MS, now), this.month(model, previous, PAST_MONTH_TTL_MS, now)]);
    return recent && past && mergeHistograms(recent, past);
  }

  private month(model: string, month: string, ttlMs: number, now: number): Promise<DurationHistogram | undefined> {
    const key = `${model}\n${month}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.histogram;
    for (const [name, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(name);
    const entry: CachedMonth = {
      expiresAt: now + ttlMs,
      // Concurrent requests for one model share this read.
      histogram: this.durations.loadMonth(model, month).catch(() => {
        entry.expiresAt = now + FAILED_READ_TTL_MS;
        return undefined;
      }),
    };
    this.cache.set(key, entry);
    return entry.histogram;
  }
}
