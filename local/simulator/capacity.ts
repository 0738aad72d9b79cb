/**
 * The simulator's account concurrency cap, like a real provider's: while `limit` of its
 * jobs are unfinished, a create is answered 429 with `Retry-After`. A job is unfinished
 * until its timeline completes; one whose status checks answer `error` ends at once, and
 * one that never completes (`status-never`) holds its place for good, as on a real account.
 */
import type { GenerationStore, SimulatedGeneration } from './generations.js';

export class ConcurrencyCap {
  /** The most jobs that were unfinished at once (what a test compares with the limit). */
  peak = 0;
  private readonly live = new Set<SimulatedGeneration>();

  constructor(
    private readonly store: GenerationStore,
    readonly limit: number | undefined,
  ) {}

  /** Whether one more job may start now. */
  hasRoom(): boolean {
    this.prune();
    return this.limit === undefined || this.live.size < this.limit;
  }

  /** Counts an accepted job (restored ones too: their slots are taken on the account). */
  add(generation: SimulatedGeneration): void {
    this.prune();
    if (!isFinished(this.store, generation)) this.live.add(generation);
    this.peak = Math.max(this.peak, this.live.size);
  }

  private prune(): void {
    for (const generation of this.live) {
      if (isFinished(this.store, generation)) this.live.delete(generation);
    }
  }
}

function isFinished(store: GenerationStore, generation: SimulatedGeneration): boolean {
  if (generation.directives.some((d) => d.fault === 'status-error')) return true;
  if (generation.directives.some((d) => d.fault === 'status-never')) return false;
  return store.statusOf(generation) === 'completed';
}
