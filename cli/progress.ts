/**
 * Live progress of a generation on stderr: a bar, elapsed time, ETA, status checks and
 * the provider's status. On a terminal one line is redrawn on every update; otherwise
 * (CI logs, pipes) a plain line is printed at each change of phase and every
 * {@link PLAIN_INTERVAL_MS} in between, so a log shows the generation is alive without
 * filling up.
 */
import type { PublicGeneration } from '#shared/records/record.js';

/** Between two plain lines of an unchanged phase. */
export const PLAIN_INTERVAL_MS = 5_000;
const BAR_CELLS = 20;

/** Where the progress goes: a terminal (isTTY, columns) or anything else. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Default Date.now; tests pass their own. */
  clock?: () => number;
}

/**
 * @example
 * const progress = new Progress();
 * progress.update(generation); // after each read of the record
 * progress.done(generation);
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly clock: () => number;
  private readonly started: number;
  private readonly interactive: boolean;
  private lastPhase = '';
  private lastPlainAt = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.clock = options.clock ?? Date.now;
    this.started = this.clock();
    this.interactive = Boolean(this.stream.isTTY);
  }

  /** Shows the record just read. */
  update(generation: PublicGeneration): void {
    const now = this.clock();
    const view = progressView(generation);
    const line = progressLine(view, (now - this.started) / 1000, generation, this.interactive);
    if (this.interactive) {
      const columns = this.stream.columns ?? 0;
      this.stream.write(`\r\x1b[2K${columns > 1 ? line.slice(0, columns - 1) : line}`);
      this.drawn = true;
    } else if (view.phase !== this.lastPhase || now - this.lastPlainAt >= PLAIN_INTERVAL_MS) {
      this.stream.write(`${line}\n`);
      this.lastPlainAt = now;
    }
    this.lastPhase = view.phase;
  }

  /** Shows the final record (when there is one) and ends the redrawn line. */
  done(generation?: PublicGeneration): void {
    if (generation) this.update(generation);
    if (this.interactive && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

interface ProgressView {
  /** What the generation is doing; a change of it prints a plain line at once. */
  phase: string;
  /** 0..1 of the bar, or null while nothing is known (queued). */
  fraction: number | null;
  /** Seconds left at the median and the 90th percentile, when estimated. */
  remaining: { p50: number; p90: number } | null;
}

/**
 * The bar's fill comes from the record's estimate alone: the share of the expected
 * provider time (from `provider_accepted` to `completes_at`) already spent, all in the
 * server's clock, so a skewed local clock cannot bend it.
 */
function progressView(generation: PublicGeneration): ProgressView {
  const { status, estimate, timeline } = generation;
  if (status === 'completed') return { phase: 'completed', fraction: 1, remaining: null };
  if (status === 'error') return { phase: `error ${generation.error?.name ?? ''}`.trim(), fraction: null, remaining: null };
  if (status === 'queued') return { phase: generation.queue ? 'queued for provider capacity' : 'queued', fraction: 0, remaining: null };
  if (timeline.provider_done) return { phase: 'copying the video', fraction: 1, remaining: null };
  const provider = `provider: ${generation.provider.status ?? 'accepted'}`;
  if (!estimate || !timeline.provider_accepted) return { phase: `generating (${provider})`, fraction: null, remaining: null };
  const expected = Date.parse(estimate.completes_at) - Date.parse(timeline.provider_accepted);
  const fraction = expected > 0 ? Math.min(1, Math.max(0, 1 - (estimate.remaining_seconds.p50 * 1000) / expected)) : 1;
  return { phase: `generating (${provider})`, fraction, remaining: estimate.remaining_seconds };
}

function progressLine(view: ProgressView, elapsedSeconds: number, generation: PublicGeneration, interactive: boolean): string {
  const parts = [
    `${bar(view.fraction, interactive)} ${view.fraction === null ? '?'.padStart(4) : `${Math.floor(view.fraction * 100)}%`.padStart(4)}`,
    view.phase,
    `elapsed ${clockTime(elapsedSeconds)}`,
  ];
  if (view.remaining) parts.push(`ETA ${clockTime(view.remaining.p50)} (p90 ${clockTime(view.remaining.p90)}, ${generation.estimate?.basis ?? ''})`);
  else if (generation.status === 'generating' && !generation.timeline.provider_done) parts.push('ETA unknown');
  if (generation.provider.polls !== undefined) parts.push(`polls ${generation.provider.polls}`);
  return parts.join('  ');
}

function bar(fraction: number | null, interactive: boolean): string {
  const [full, empty] = interactive ? ['█', '░'] : ['#', '-'];
  const filled = fraction === null ? 0 : Math.round(fraction * BAR_CELLS);
  return `[${full.repeat(filled)}${empty.repeat(BAR_CELLS - filled)}]`;
}

/** `0:07`, `3:06`, `1:02:03`. */
function clockTime(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}
