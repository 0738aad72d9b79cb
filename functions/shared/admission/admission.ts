/**
 * Admission in front of the provider: a generation waits (with a Step Functions task
 * token) until it holds one of the account's slots, and a released slot is handed
 * straight to the next waiter by resuming its task. No waiter polls.
 *
 * Crash safety with single-item writes: the waiter is stored before a slot is tried, and
 * removed only after its task was resumed, so a crash in between leaves a waiter that the
 * next release (or its own re-run) finds; a slot claimed for a waiter whose task is gone
 * (timed out, stopped) is released again at once, and every slot has a lease as the last
 * backstop. One actor at a time resumes a waiter (its hand-over mark, taken over only once
 * stale): had a second one resumed it first, the claimer's resume would fail as if the task
 * were gone, and give back a slot the admitted generation is about to use.
 *
 * @example
 * const admission = new Admission(new ProviderSlots(db, table, { configuredLimit }), new WaiterQueue(db, table), tokens);
 * await admission.wait({ generationId, owner, taskToken, leaseUntil });   // in the admission step
 * await admission.release(generationId);                                 // on a terminal provider status
 */
import type { ProviderSlots } from './provider-slots.js';
import type { Waiter, WaiterQueue } from './waiters.js';

/** Resumes a waiting task; `false` when the token is dead (its task timed out, was stopped or already resumed). */
export interface TaskResumer {
  resume(taskToken: string, output: AdmissionOutput): Promise<boolean>;
}

export interface AdmissionOutput {
  admitted: true;
  waited_since: string;
}

export interface WaitRequest {
  generationId: string;
  owner: string;
  taskToken: string;
  /** Epoch seconds: the slot's lease and the waiter's expiry (the generation's deadline plus a margin). */
  leaseUntil: number;
}

/** How many hand-overs one release tries before leaving the rest to the next release. */
const MAX_HANDOVERS_PER_RELEASE = 25;

export class Admission {
  constructor(
    private readonly slots: ProviderSlots,
    private readonly waiters: WaiterQueue,
    private readonly tasks: TaskResumer,
  ) {}

  /**
   * Registers the wait (a re-run replaces the token), then admits it at once when a slot is
   * free and nobody waits ahead of it. Returns whether it was admitted now, and since when
   * it waits (kept across re-runs).
   */
  async wait(request: WaitRequest): Promise<{ admitted: boolean; since: string }> {
    const waiter = await this.waiters.register(request.generationId, request.owner, request.taskToken, request.leaseUntil);
    const state = await this.slots.state();
    // A re-run of a generation that already holds its slot: admitted again at once.
    const holding = state.holders[request.generationId] !== undefined;
    if (!holding) {
      // Every slot taken, or paused by a 429: the next release (or the generation that met
      // the 429, when it comes back) admits waiters, this one among them. Skipping the fill
      // keeps a burst of arrivals from each trying the full semaphore in turn.
      if (state.held >= state.limit || state.pausedUntil > Date.now()) return { admitted: false, since: waiter.since };
      await this.fill();
      const still = await this.waiters.get(request.generationId);
      return { admitted: still === undefined || still.task_token !== request.taskToken, since: waiter.since };
    }
    // A release may be handing this waiter over right now: one of the two resumes it.
    await this.handOver(waiter, false);
    return { admitted: true, since: waiter.since };
  }

  /**
   * A re-run of a generation the provider has already accepted (a crash after the
   * create): its job is in flight, so it holds a slot whatever the limit, and goes on.
   */
  async resumeAccepted(request: Omit<WaitRequest, 'owner'>): Promise<void> {
    await this.slots.hold(request.generationId, request.leaseUntil);
    await this.waiters.remove(request.generationId);
    await this.tasks.resume(request.taskToken, { admitted: true, waited_since: new Date().toISOString() });
  }

  /**
   * Gives the slot back and drops any wait of `generationId` (idempotent: also for a
   * generation cancelled, timed out or stopped while waiting), then hands free slots on.
   */
  async release(generationId: string): Promise<void> {
    await this.slots.release(generationId);
    await this.waiters.remove(generationId);
    await this.fill();
  }

  /** Admits waiters, fairly, while slots are free. */
  async fill(): Promise<void> {
    for (let i = 0; i < MAX_HANDOVERS_PER_RELEASE; i += 1) {
      const waiter = await this.waiters.next();
      if (waiter === undefined) return;
      const claim = await this.slots.claim(waiter.generation_id, waiter.lease_until);
      if (claim === 'full') return;
      await this.waiters.takeTurn(waiter);
      // 'held': another release is handing this waiter over right now, or crashed doing so
      // (then its hand-over is stale and taken over). Its slot is not ours to give back.
      await this.handOver(waiter, claim === 'claimed');
      // That other release goes on filling: a second one walking the same waiters behind
      // it would only find each of them held too. Under a burst, dozens of releases at once
      // did exactly that, 30 times per generation (docs/performance.md).
      if (claim === 'held') return;
    }
  }

  /**
   * Resumes the waiter's task, unless another actor is handing it over already (its mark,
   * {@link WaiterQueue.startHandover}): two resumes of one token would make the later one
   * look like a dead task.
   */
  private async handOver(waiter: Waiter, releaseIfGone: boolean): Promise<void> {
    if (!(await this.waiters.startHandover(waiter))) return;
    const resumed = await this.tasks.resume(waiter.task_token, { admitted: true, waited_since: waiter.since });
    // Only this wait's item: a re-run may have registered a newer token meanwhile.
    await this.waiters.remove(waiter.generation_id, waiter.task_token);
    if (!resumed && releaseIfGone) await this.slots.release(waiter.generation_id);
  }
}
