/**
 * Admission against dynalite: a slot is handed to the next waiter by resuming its task,
 * a dead task token passes the slot on, re-runs are idempotent, and the slots held always
 * equal the generations admitted and not yet released.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, type AdmissionOutput, type TaskResumer } from '#shared/admission/admission.js';
import { ProviderSlots } from '#shared/admission/provider-slots.js';
import { WaiterQueue } from '#shared/admission/waiters.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

/**
 * Stands in for SendTaskSuccess: records resumed tokens; tokens in `dead`, and tokens
 * resumed already (their task is closed), answer TaskTimedOut as Step Functions does.
 */
class RecordingTasks implements TaskResumer {
  readonly resumed: string[] = [];
  readonly dead = new Set<string>();
  /** Every SendTaskSuccess made, also the ones that found the task closed. */
  calls = 0;
  /** Makes the next SendTaskSuccess this slow, as one held up on a busy network. */
  delayNextMs = 0;
  async resume(taskToken: string, output: AdmissionOutput): Promise<boolean> {
    this.calls += 1;
    const delay = this.delayNextMs;
    this.delayNextMs = 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    expect(output.admitted).toBe(true);
    if (this.dead.has(taskToken) || this.resumed.includes(taskToken)) return false;
    this.resumed.push(taskToken);
    return true;
  }
}

let table: LocalTable;
let run = 0;
beforeAll(async () => {
  table = await startLocalTable('reelhook-admission');
});
afterAll(async () => {
  await table?.close();
});

async function fresh(limit: number) {
  run += 1;
  const slots = new ProviderSlots(table.db, table.tableName, { configuredLimit: limit });
  const waiters = new WaiterQueue(table.db, table.tableName);
  for (const id of Object.keys((await slots.state()).holders)) await slots.release(id);
  for (let w = await waiters.next(); w !== undefined; w = await waiters.next()) await waiters.remove(w.generation_id);
  const tasks = new RecordingTasks();
  return { slots, waiters, tasks, admission: new Admission(slots, waiters, tasks), id: (n: number) => `gen_r${run}_${n}` };
}

const lease = () => Math.floor(Date.now() / 1000) + 3600;

describe('Admission', () => {
  it('admits up to the limit at once and hands each released slot to the next waiter', async () => {
    const { admission, slots, tasks, id } = await fresh(2);
    const admitted = [];
    for (let n = 0; n < 5; n += 1) {
      admitted.push((await admission.wait({ generationId: id(n), owner: 'key_a', taskToken: `tok${n}`, leaseUntil: lease() })).admitted);
    }
    expect(admitted).toEqual([true, true, false, false, false]);
    expect(tasks.resumed).toEqual(['tok0', 'tok1']);
    await admission.release(id(0));
    expect(tasks.resumed).toEqual(['tok0', 'tok1', 'tok2']);
    expect(Object.keys((await slots.state()).holders).sort()).toEqual([id(1), id(2)].sort());
  });

  it('passes a slot on when the next waiter task is gone, releasing what it claimed', async () => {
    const { admission, slots, tasks, id } = await fresh(1);
    await admission.wait({ generationId: id(0), owner: 'key_a', taskToken: 'a0', leaseUntil: lease() });
    await admission.wait({ generationId: id(1), owner: 'key_a', taskToken: 'a1', leaseUntil: lease() });
    await admission.wait({ generationId: id(2), owner: 'key_a', taskToken: 'a2', leaseUntil: lease() });
    tasks.dead.add('a1');
    await admission.release(id(0));
    expect(tasks.resumed).toEqual(['a0', 'a2']);
    const state = await slots.state();
    expect(Object.keys(state.holders)).toEqual([id(2)]);
    expect(state.held).toBe(1);
  });

  it('admits a re-run that already holds its slot at once, with the new token, without a second slot', async () => {
    const { admission, slots, tasks, id } = await fresh(1);
    expect((await admission.wait({ generationId: id(0), owner: 'key_a', taskToken: 'first', leaseUntil: lease() })).admitted).toBe(true);
    expect((await admission.wait({ generationId: id(0), owner: 'key_a', taskToken: 'rerun', leaseUntil: lease() })).admitted).toBe(true);
    expect(tasks.resumed).toEqual(['first', 'rerun']);
    expect((await slots.state()).held).toBe(1);
  });

  it('hands a waiter over once when two releases run at once, and it keeps its slot', async () => {
    const { admission, slots, tasks, id } = await fresh(2);
    for (let n = 0; n < 4; n += 1) {
      await admission.wait({ generationId: id(n), owner: 'key_a', taskToken: `p${n}`, leaseUntil: lease() });
    }
    await Promise.all([admission.release(id(0)), admission.release(id(1))]);
    expect(tasks.resumed.sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    const state = await slots.state();
    expect(Object.keys(state.holders).sort()).toEqual([id(2), id(3)].sort());
    expect(state.held).toBe(2);
  });

  it('lets many releases at once share the queue instead of each walking the waiters the others hand over', async () => {
    const limit = 10;
    const { admission, slots, tasks, id } = await fresh(limit);
    for (let n = 0; n < 3 * limit; n += 1) {
      await admission.wait({ generationId: id(n), owner: 'key_a', taskToken: `m${n}`, leaseUntil: lease() });
    }
    tasks.calls = 0;
    await Promise.all(Array.from({ length: limit }, (_, n) => admission.release(id(n))));

    const state = await slots.state();
    expect(Object.keys(state.holders).sort()).toEqual(Array.from({ length: limit }, (_, n) => id(limit + n)).sort());
    expect(state.held).toBe(limit);
    // One SendTaskSuccess per waiter admitted, plus at most one per release that met a
    // waiter another release was handing over; walking on behind it made up to one per
    // release for every waiter admitted.
    expect(tasks.calls).toBeLessThanOrEqual(2 * limit);
  });

  it('keeps the slot of a waiter whose hand-over is slow while another release meets it', async () => {
    const { admission, slots, tasks, id } = await fresh(1);
    await admission.wait({ generationId: id(0), owner: 'key_a', taskToken: 's0', leaseUntil: lease() });
    await admission.wait({ generationId: id(1), owner: 'key_a', taskToken: 's1', leaseUntil: lease() });
    // The release's SendTaskSuccess takes 300 ms; meanwhile another release finds the
    // waiter holding its slot. Had it resumed the task first, the slow one would have
    // failed as if the task were gone, and given the slot back while the job runs.
    tasks.delayNextMs = 300;
    const first = admission.release(id(0));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await admission.fill();
    await first;

    expect(tasks.resumed).toEqual(['s0', 's1']);
    const state = await slots.state();
    expect(Object.keys(state.holders)).toEqual([id(1)]);
    expect(state.held).toBe(1);
  });

  it('drops a cancelled waiter on release, so it never takes a slot', async () => {
    const { admission, slots, tasks, id } = await fresh(1);
    await admission.wait({ generationId: id(0), owner: 'key_a', taskToken: 'c0', leaseUntil: lease() });
    await admission.wait({ generationId: id(1), owner: 'key_a', taskToken: 'c1', leaseUntil: lease() });
    await admission.wait({ generationId: id(2), owner: 'key_a', taskToken: 'c2', leaseUntil: lease() });
    await admission.release(id(1)); // cancelled while queued: it held nothing
    expect((await slots.state()).held).toBe(1);
    await admission.release(id(0));
    expect(tasks.resumed).toEqual(['c0', 'c2']);
  });

  it('keeps slots held equal to admitted-and-unreleased generations over a random sequence', async () => {
    const { admission, slots, tasks, id } = await fresh(3);
    const byToken = new Map<string, string>();
    const released = new Set<string>();
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 60; step += 1) {
      const admittedIds = tasks.resumed.map((t) => byToken.get(t)!).filter((g) => !released.has(g));
      if (random() < 0.55 || admittedIds.length === 0) {
        const generationId = id(100 + step);
        byToken.set(`t${step}`, generationId);
        if (random() < 0.15) tasks.dead.add(`t${step}`);
        await admission.wait({ generationId, owner: random() < 0.5 ? 'key_a' : 'key_b', taskToken: `t${step}`, leaseUntil: lease() });
      } else {
        const victim = admittedIds[Math.floor(random() * admittedIds.length)]!;
        released.add(victim);
        await admission.release(victim);
      }
      const holding = tasks.resumed.map((t) => byToken.get(t)!).filter((g) => !released.has(g));
      const state = await slots.state();
      expect(Object.keys(state.holders).sort()).toEqual([...new Set(holding)].sort());
      expect(state.held).toBe(Object.keys(state.holders).length);
      expect(state.held).toBeLessThanOrEqual(3);
    }
  });
});
