/**
 * Simulated generations kept in memory. By default a generation's progress is a pure
 * function of the wall-clock time since it was created, so polling never has to drive it
 * forward and a test can reason about it from the clock alone. With `pollsToComplete`,
 * it completes at its n-th status check instead: a job then stays unfinished until its
 * client has seen it finish, whatever the machine's speed (what a capacity test needs).
 */
import { randomBytes } from 'node:crypto';
import { type FaultDirective, FaultPlan } from './faults.js';
import type { CreateRequest, SimulatedModel } from './validation.js';

export type TimelineStatus = 'queued' | 'generating' | 'completed';

export interface SimulatedGeneration {
  readonly id: string;
  readonly model: SimulatedModel;
  readonly durationSeconds: 5 | 10;
  readonly createdAtMs: number;
  /** The fault directives its prompt carried (what a state file keeps to restore `faults`). */
  readonly directives: readonly FaultDirective[];
  /** Status-check and download faults of this generation, with their remaining uses. */
  readonly faults: FaultPlan;
}

/** What a generation is made from, and what a state file keeps of it. */
export type GenerationRecord = Pick<SimulatedGeneration, 'id' | 'model' | 'durationSeconds' | 'createdAtMs' | 'directives'>;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const ID_LENGTH = 21;

/** A 21-character URL-safe id shaped like the provider's (e.g. `vn9XMO80UyV9BSq6K6G_O`). */
export function newGenerationId(): string {
  // 64 symbols divide 256 evenly, so masking each random byte keeps the ids unbiased.
  return [...randomBytes(ID_LENGTH)].map((byte) => ID_ALPHABET[byte & 63]).join('');
}

/** queued for the first third of the processing time, generating until it ends, then completed. */
export function timelineStatus(elapsedMs: number, processingMs: number): TimelineStatus {
  if (elapsedMs >= processingMs) return 'completed';
  return elapsedMs < processingMs / 3 ? 'queued' : 'generating';
}

const CREDITS_PER_SECOND: Record<SimulatedModel, number> = {
  'kling-video/v1.6/standard/text-to-video': 58_800,
  'kling-video/v1/standard/text-to-video': 46_200,
};

/** What the provider reports in `meta.usage.credits_used` for a finished generation. */
export function creditsUsed(generation: SimulatedGeneration): number {
  return CREDITS_PER_SECOND[generation.model] * generation.durationSeconds;
}

export class GenerationStore {
  private readonly generations = new Map<string, SimulatedGeneration>();

  private readonly polls = new Map<string, number>();

  constructor(
    private readonly processingMs: number,
    private readonly now: () => number = Date.now,
    private readonly pollsToComplete?: number,
  ) {}

  /** Records an accepted create request with the fault directives found in its prompt. */
  create(request: CreateRequest, directives: readonly FaultDirective[]): SimulatedGeneration {
    return this.restore({
      id: newGenerationId(),
      model: request.model,
      durationSeconds: request.durationSeconds,
      createdAtMs: this.now(),
      directives,
    });
  }

  /** Takes back a generation made earlier (by a simulator that has since stopped), fault uses reset. */
  restore(record: GenerationRecord): SimulatedGeneration {
    const generation: SimulatedGeneration = { ...record, faults: new FaultPlan(record.directives) };
    this.generations.set(generation.id, generation);
    return generation;
  }

  get(id: string): SimulatedGeneration | undefined {
    return this.generations.get(id);
  }

  /** Where the generation stands now on its fault-free timeline. */
  statusOf(generation: SimulatedGeneration): TimelineStatus {
    if (this.pollsToComplete === undefined) return timelineStatus(this.now() - generation.createdAtMs, this.processingMs);
    const polls = this.polls.get(generation.id) ?? 0;
    if (polls >= this.pollsToComplete) return 'completed';
    return polls === 0 ? 'queued' : 'generating';
  }

  /** A status check of `generation`: counts it (a poll-counted timeline moves on), then answers its status. */
  poll(generation: SimulatedGeneration): TimelineStatus {
    this.polls.set(generation.id, (this.polls.get(generation.id) ?? 0) + 1);
    return this.statusOf(generation);
  }
}
