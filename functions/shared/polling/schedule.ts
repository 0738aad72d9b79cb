/**
 * When to ask the provider, learned from how long the model's past generations took.
 *
 * The check times (seconds since the provider accepted the job) are the ones that make
 * the fewest status checks on average while noticing a finished job at least as soon,
 * on average, as the seeds' loop (check at once, then every 15 s). On a 1 s grid up to
 * a high quantile of the durations, dynamic programming minimises
 * E[lag] + μ·E[checks] for a given μ; a search over μ finds the cheapest such schedule
 * that meets the lag target, and pruning single checks spends what slack is left.
 * Past the grid, checks back off geometrically. Every wait respects the configured
 * bounds (see polling.ts).
 *
 * The durations the planner believes in are the history smoothed by a kernel, blended
 * with the seeds' figure (a log-normal around the model's typical duration: 186 s for
 * kling, "~3 min 6 s" in the provider's docs) as if it were a few dozen past
 * generations; without history, the seeds' figure alone.
 */
import { bucketRange, type DurationHistogram, EMPTY_HISTOGRAM, histogramQuantile } from '#shared/polling/duration-history.js';
import type { PollingBounds } from '#shared/polling/bounds.js';
import { MIN_LEARNED_SAMPLES } from '#shared/polling/estimate.js';
import { normalCdf, SEED_LOG_SIGMA } from '#shared/polling/seed-prior.js';

/** The seeds' loop, the reference for detection lag: check at once, then every 15 s. */
const SEED_POLL_INTERVAL_SECONDS = 15;
/** Weight of the seeds' distribution, in past generations: history dominates once it has a few hundred. */
const SEED_WEIGHT = 30;

/** The grid reaches this quantile of the durations; the rest is the back-off's. */
const GRID_QUANTILE = 0.999;
/** At most this many grid cells (1 s each unless the durations span hours). */
const MAX_GRID_CELLS = 2400;
/**
 * Past the plan, wait this share of the time already elapsed (geometric back-off,
 * clamped by the bounds): the long-wait floor infra/history.ts sizes the execution
 * history with.
 */
const BACKOFF_SHARE = 0.1;
/**
 * At most this many planned checks; the back-off takes over after them. However wide
 * the history, a generation's polls then stay within this plus the back-off's worst
 * case, which keeps the longest generation inside one execution's history.
 */
export const MAX_PLANNED_CHECKS = 200;
/** Bisection steps over μ (log scale): far finer than one check. */
const MULTIPLIER_SEARCH_STEPS = 32;

export interface PollSchedule {
  /** Planned check times, seconds since the provider accepted the job, strictly increasing. */
  offsets: number[];
  /** What the planner expects over the durations it learned from (grid mass only, before the cap on planned checks). */
  expected: { checks: number; lagSeconds: number; seedLoopLagSeconds: number };
}

/** Provider durations as a distribution on a grid of `step`-second cells. */
export interface DurationGrid {
  step: number;
  /** mass[k] = P(duration in ((k−1)·step, k·step]) for k ≥ 1; mass[0] is 0. */
  mass: Float64Array;
}

/**
 * The cumulative distribution the planner believes in: the seeds' log-normal with
 * weight {@link SEED_WEIGHT}, plus one unit per recorded duration smoothed by a
 * log-normal kernel (Silverman's bandwidth on log durations), so that a schedule is
 * not fitted to the gaps of a small sample.
 */
function durationCdf(histogram: DurationHistogram, typicalSeconds: number): (seconds: number) => number {
  const bandwidth = kernelBandwidth(histogram);
  const components = [{ weight: SEED_WEIGHT, logMedian: Math.log(typicalSeconds), logSigma: SEED_LOG_SIGMA }];
  for (const [index, count] of histogram.counts) {
    const { lower, upper } = bucketRange(index);
    const width = Math.log(upper / lower);
    components.push({
      weight: count,
      logMedian: Math.log(lower) + width / 2,
      // The kernel widened by the spread of a uniform over the bucket.
      logSigma: Math.sqrt(bandwidth ** 2 + width ** 2 / 12),
    });
  }
  const total = SEED_WEIGHT + histogram.total;
  return (seconds) => {
    if (seconds <= 0) return 0;
    const logSeconds = Math.log(seconds);
    let below = 0;
    for (const { weight, logMedian, logSigma } of components) below += weight * normalCdf((logSeconds - logMedian) / logSigma);
    return below / total;
  };
}

/** Silverman's rule of thumb, 0.9·min(σ, IQR/1.34)·n^(−1/5), on the log durations. */
function kernelBandwidth(histogram: DurationHistogram): number {
  if (histogram.total < 2) return 0;
  let sum = 0;
  let squares = 0;
  for (const [index, count] of histogram.counts) {
    const { lower, upper } = bucketRange(index);
    const middle = (Math.log(lower) + Math.log(upper)) / 2;
    sum += count * middle;
    squares += count * middle * middle;
  }
  const mean = sum / histogram.total;
  const sigma = Math.sqrt(Math.max(0, squares / histogram.total - mean * mean));
  const q1 = histogramQuantile(histogram, 0.25) ?? 1;
  const q3 = histogramQuantile(histogram, 0.75) ?? 1;
  const spread = Math.min(sigma, Math.log(q3 / q1) / 1.34) || sigma;
  return 0.9 * spread * histogram.total ** -0.2;
}

/**
 * Discretises a distribution up to its {@link GRID_QUANTILE}, or as far as
 * {@link MAX_GRID_CELLS} cells no wider than the longest wait reach (so the plan can keep
 * every gap within the bounds; the back-off covers what lies beyond).
 */
function durationGrid(cdf: (seconds: number) => number, maxIntervalSeconds: number): DurationGrid {
  const reach = MAX_GRID_CELLS * Math.max(1, Math.floor(maxIntervalSeconds));
  let horizon = 1;
  while (cdf(horizon) < GRID_QUANTILE && horizon < reach) horizon *= 2;
  let low = horizon / 2;
  while (horizon - low > 1) {
    const middle = (low + horizon) / 2;
    if (cdf(middle) < GRID_QUANTILE) low = middle;
    else horizon = middle;
  }
  horizon = Math.min(horizon, reach);
  const step = Math.max(1, Math.ceil(horizon / MAX_GRID_CELLS));
  const cells = Math.ceil(horizon / step);
  const mass = new Float64Array(cells + 1);
  let previous = 0;
  for (let k = 1; k <= cells; k += 1) {
    const at = cdf(k * step);
    mass[k] = at - previous;
    previous = at;
  }
  return { step, mass };
}

/** Mean lag of the seeds' loop (checks at 0, 15, 30, …) over the grid's mass, durations uniform within a cell. */
function seedLoopLag(grid: DurationGrid): number {
  const samplesPerCell = 8;
  let lag = 0;
  let mass = 0;
  for (let k = 1; k < grid.mass.length; k += 1) {
    const cellMass = grid.mass[k] ?? 0;
    if (cellMass === 0) continue;
    let cellLag = 0;
    for (let s = 0; s < samplesPerCell; s += 1) {
      const t = (k - 1 + (s + 0.5) / samplesPerCell) * grid.step;
      cellLag += Math.ceil(t / SEED_POLL_INTERVAL_SECONDS) * SEED_POLL_INTERVAL_SECONDS - t;
    }
    lag += (cellMass * cellLag) / samplesPerCell;
    mass += cellMass;
  }
  return mass > 0 ? lag / mass : SEED_POLL_INTERVAL_SECONDS / 2;
}

interface GridPlan {
  /** Check cells, increasing. */
  cells: number[];
  checks: number;
  lagSeconds: number;
}

/**
 * Plans checks on a grid: the cells minimising E[lag] + μ·E[checks] over the grid's
 * mass, where a check at cell c after one at cell a costs μ·P(duration > a) and finds
 * every job done in (a, c] with lag (c − t + ½)·step. Gaps between checks stay within
 * the bounds; the first check is the configured one, else anywhere from the minimum
 * gap on; a plan ends at the first check at or past the grid's end.
 */
class GridPlanner {
  readonly #step: number;
  readonly #end: number;
  readonly #last: number;
  readonly #minGap: number;
  readonly #maxGap: number;
  readonly #fixedFirst: number | null;
  readonly #earliest: number;
  /** done[k] = P(duration ≤ k·step) within the grid. */
  readonly #done: Float64Array;
  /** weighted[k] = Σ j·mass[j] for j ≤ k. */
  readonly #weighted: Float64Array;

  constructor(grid: DurationGrid, bounds: PollingBounds) {
    this.#step = grid.step;
    this.#end = grid.mass.length - 1;
    this.#minGap = Math.max(1, Math.ceil(bounds.minIntervalSeconds / grid.step));
    this.#maxGap = Math.max(this.#minGap, Math.floor(bounds.maxIntervalSeconds / grid.step));
    this.#fixedFirst = bounds.firstCheckSeconds === null ? null : Math.ceil(bounds.firstCheckSeconds / grid.step);
    this.#earliest = this.#fixedFirst ?? this.#minGap;
    this.#last = Math.max(this.#end, this.#earliest) + this.#maxGap;
    this.#done = new Float64Array(this.#last + 1);
    this.#weighted = new Float64Array(this.#last + 1);
    for (let k = 1; k <= this.#last; k += 1) {
      const m = k <= this.#end ? (grid.mass[k] ?? 0) : 0;
      this.#done[k] = this.#done[k - 1]! + m;
      this.#weighted[k] = this.#weighted[k - 1]! + k * m;
    }
  }

  /** The plan minimising E[lag] + multiplier·E[checks] (dynamic programming over check cells). */
  optimal(multiplier: number): GridPlan {
    const last = this.#last;
    const done = this.#done;
    const cost = new Float64Array(last + 1).fill(Number.POSITIVE_INFINITY);
    const previous = new Int32Array(last + 1).fill(-1);
    for (let c = this.#earliest; c <= last; c += 1) {
      if (this.#fixedFirst === null || c === this.#fixedFirst) cost[c] = multiplier + this.#lagBetween(0, c);
      for (let from = Math.max(this.#earliest, c - this.#maxGap); from <= c - this.#minGap; from += 1) {
        const candidate = cost[from]! + multiplier * (1 - done[from]!) + this.#lagBetween(from, c);
        if (candidate < cost[c]!) {
          cost[c] = candidate;
          previous[c] = from;
        }
      }
    }
    let best = Math.max(this.#end, this.#earliest);
    for (let c = best + 1; c <= last; c += 1) if (cost[c]! < cost[best]!) best = c;
    const cells: number[] = [];
    for (let c = best; c >= 0; c = previous[c]!) cells.push(c);
    return this.#evaluate(cells.reverse());
  }

  /**
   * Drops checks from a plan, each time the one that saves the most checks per second
   * of added lag, while the mean lag stays within `targetSeconds` and the gaps within
   * the bounds. This spends the slack the Lagrangian search leaves under the target.
   * Dropping check c between a and b saves P(duration > c) checks and adds
   * lag(a, b) − lag(a, c) − lag(c, b).
   */
  pruned(plan: GridPlan, targetSeconds: number): GridPlan {
    const cells = [...plan.cells];
    const gridMass = this.#done[this.#end]!;
    const lagBudget = gridMass > 0 ? (targetSeconds * gridMass) / this.#step : 0;
    let lag = gridMass > 0 ? (plan.lagSeconds * gridMass) / this.#step : 0;
    for (;;) {
      let best = -1;
      let bestRatio = 0;
      let bestAddedLag = 0;
      // The last check closes the grid and a configured first check stays.
      for (let j = this.#fixedFirst === null ? 0 : 1; j < cells.length - 1; j += 1) {
        const before = j === 0 ? 0 : cells[j - 1]!;
        const at = cells[j]!;
        const after = cells[j + 1]!;
        if (j > 0 && after - before > this.#maxGap) continue;
        const addedLag = this.#lagBetween(before, after) - this.#lagBetween(before, at) - this.#lagBetween(at, after);
        if (lag + addedLag > lagBudget) continue;
        const ratio = (1 - this.#done[at]!) / Math.max(1e-12, addedLag);
        if (best < 0 || ratio > bestRatio) {
          best = j;
          bestRatio = ratio;
          bestAddedLag = addedLag;
        }
      }
      if (best < 0) return this.#evaluate(cells);
      cells.splice(best, 1);
      lag += bestAddedLag;
    }
  }

  #evaluate(cells: number[]): GridPlan {
    let checks = 0;
    let lag = 0;
    let from = 0;
    for (const cell of cells) {
      checks += 1 - this.#done[from]!;
      lag += this.#lagBetween(from, cell);
      from = cell;
    }
    const gridMass = this.#done[this.#end]!;
    return { cells, checks, lagSeconds: gridMass > 0 ? (lag * this.#step) / gridMass : 0 };
  }

  /** Σ over jobs done in (from, to] of their lag when found at `to`, in cells. */
  #lagBetween(from: number, to: number): number {
    const done = this.#done;
    const weighted = this.#weighted;
    return (to + 0.5) * (done[to]! - done[from]!) - (weighted[to]! - weighted[from]!);
  }
}

/**
 * The schedule for a grid of durations: the largest μ (fewest checks) whose plan keeps
 * the mean lag within the seeds' loop's, then pruned up to that lag. When the bounds
 * make that impossible, the plan with the least lag they allow.
 */
function scheduleForGrid(grid: DurationGrid, bounds: PollingBounds): PollSchedule {
  const seedLoopLagSeconds = seedLoopLag(grid);
  const planner = new GridPlanner(grid, bounds);
  let low = Math.log(1e-4);
  let high = Math.log(1e6);
  let plan = planner.optimal(Math.exp(low));
  for (let i = 0; i < MULTIPLIER_SEARCH_STEPS; i += 1) {
    const middle = (low + high) / 2;
    const candidate = planner.optimal(Math.exp(middle));
    if (candidate.lagSeconds <= seedLoopLagSeconds) {
      plan = candidate;
      low = middle;
    } else {
      high = middle;
    }
  }
  plan = planner.pruned(plan, seedLoopLagSeconds);
  return {
    offsets: plan.cells.slice(0, MAX_PLANNED_CHECKS).map((cell) => cell * grid.step),
    expected: { checks: plan.checks, lagSeconds: plan.lagSeconds, seedLoopLagSeconds },
  };
}

/**
 * The schedule for a model's history (empty history → the seeds' distribution alone).
 *
 * @example
 * const schedule = buildPollSchedule({ histogram, typicalSeconds: 186, bounds: DEFAULT_POLLING_BOUNDS });
 * schedule.offsets; // e.g. [128, 146, 159, 169, …]
 */
export function buildPollSchedule(input: {
  histogram: DurationHistogram;
  typicalSeconds: number;
  bounds: PollingBounds;
}): PollSchedule {
  const cdf = durationCdf(input.histogram, input.typicalSeconds);
  return scheduleForGrid(durationGrid(cdf, input.bounds.maxIntervalSeconds), input.bounds);
}

export interface PollPosition {
  /** Seconds since the provider accepted the job, on the schedule's clock (see `toScheduleSeconds`). */
  elapsedSeconds: number;
  /** Status checks made so far. */
  polls: number;
  /** Seconds left before the generation's deadline, on the same clock. */
  remainingSeconds: number;
}

/**
 * Seconds to wait before the next check: up to the next planned check time, never
 * less than the minimum interval after a check, never past the deadline (the check
 * right after it reports TimedOut). Past the last planned check, a share of the
 * elapsed time within the bounds.
 */
export function waitFromSchedule(schedule: PollSchedule, position: PollPosition, bounds: PollingBounds): number {
  const { elapsedSeconds, polls, remainingSeconds } = position;
  const clamp = (seconds: number): number =>
    Math.min(bounds.maxIntervalSeconds, Math.max(bounds.minIntervalSeconds, seconds));
  let planned: number;
  if (polls === 0) {
    planned = Math.max(0, (schedule.offsets[0] ?? 0) - elapsedSeconds);
  } else {
    const next = schedule.offsets.find((offset) => offset > elapsedSeconds);
    planned = next === undefined ? clamp(elapsedSeconds * BACKOFF_SHARE) : Math.max(bounds.minIntervalSeconds, next - elapsedSeconds);
  }
  const capped = Math.min(planned, Math.max(0, Math.ceil(remainingSeconds)));
  return Math.max(0, Math.ceil(capped - 1e-9));
}

/** Lambda containers live for minutes: a schedule is reused that long before the history is read again. */
const SCHEDULE_TTL_MS = 5 * 60_000;
/**
 * A young history (fewer durations than this) is read again after {@link SHORT_TTL_MS}:
 * its first few hundred durations change the schedule and the expected end the most.
 */
const YOUNG_HISTORY_DURATIONS = 200;
/** After a failed read of the history, or while it is young, a plan is kept this long. */
const SHORT_TTL_MS = 10_000;

/** A model's schedule and the history it was planned from. */
interface Plan {
  schedule: PollSchedule;
  histogram: DurationHistogram;
}

interface CachedPlan {
  plan: Promise<Plan>;
  expiresAt: number;
}
const plans = new Map<string, CachedPlan>();

export interface PlanNextCheckRequest extends PollPosition {
  model: string;
  /** The registry's typical duration of the model (the seeds' figure), used while its history is thin. */
  typicalSeconds: number;
  /** Where the model's durations are kept. */
  history: { loadHistogram(model: string): Promise<DurationHistogram> };
  bounds: PollingBounds;
  /**
   * Also check when the job is expected to end (the median of the learned durations):
   * set for a generation that waited for its provider slot, since others likely wait
   * behind it and every second its finished job goes unnoticed holds the slot from all
   * of them. The schedule alone spends that lag to save checks.
   */
  checkAtExpectedEnd?: boolean;
  /** Default Date.now(); tests pass their own. */
  now?: number;
}

/**
 * Seconds until the next status check of a generation, from the model's learned
 * schedule (cached per model for a few minutes). A failed read of the history never
 * fails the poll: the seeds' schedule stands in until the next attempt.
 *
 * @example
 * const wait = await planNextCheck({ model: item.model, typicalSeconds: 186, elapsedSeconds: 0,
 *   polls: 0, remainingSeconds: 3600, history, bounds });
 */
export async function planNextCheck(request: PlanNextCheckRequest): Promise<number> {
  const now = request.now ?? Date.now();
  const key = `${request.model}\n${request.typicalSeconds}\n${JSON.stringify(request.bounds)}`;
  let cached = plans.get(key);
  if (cached === undefined || cached.expiresAt <= now) {
    cached = fetchPlan(request, now);
    plans.set(key, cached);
  }
  const { schedule, histogram } = await cached.plan;
  const planned = waitFromSchedule(schedule, request, request.bounds);
  if (!request.checkAtExpectedEnd) return planned;
  return Math.min(planned, waitForExpectedEnd(histogram, request));
}

/**
 * Seconds until the median of the model's learned durations, when the job has not run
 * that long yet (at least the minimum interval after a check); Infinity when the job is
 * past it or too little is learned. One point per job, so it adds at most one check.
 * Not rounded to whole seconds like the schedule's waits: under a local wait scale a
 * second of the schedule is a large share of a short job (in AWS the Wait's timestamp is
 * whole seconds anyway).
 */
function waitForExpectedEnd(histogram: DurationHistogram, request: PlanNextCheckRequest): number {
  const median = histogram.total >= MIN_LEARNED_SAMPLES ? histogramQuantile(histogram, 0.5) : undefined;
  if (median === undefined || median <= request.elapsedSeconds) return Number.POSITIVE_INFINITY;
  const floor = request.polls === 0 ? 0 : request.bounds.minIntervalSeconds;
  return Math.max(floor, median - request.elapsedSeconds);
}

function fetchPlan({ model, typicalSeconds, history, bounds }: PlanNextCheckRequest, now: number): CachedPlan {
  const planFor = (histogram: DurationHistogram): Plan => ({ schedule: buildPollSchedule({ histogram, typicalSeconds, bounds }), histogram });
  const cached: CachedPlan = {
    expiresAt: now + SCHEDULE_TTL_MS,
    // Concurrent checks of one model share this read.
    plan: history.loadHistogram(model).then(
      (histogram) => {
        if (histogram.total < YOUNG_HISTORY_DURATIONS) cached.expiresAt = now + SHORT_TTL_MS;
        return planFor(histogram);
      },
      () => {
        cached.expiresAt = now + SHORT_TTL_MS;
        return planFor(EMPTY_HISTOGRAM);
      },
    ),
  };
  return cached;
}

/** Forgets cached schedules (tests; a process that wants the newest history at once). */
export function clearScheduleCache(): void {
  plans.clear();
}
