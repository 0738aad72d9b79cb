/** WaiterQueue against dynalite: FIFO within a key, round-robin between keys, idempotent re-registration. */
import { afterAll, beforeEach, beforeAll, describe, expect, it } from 'vitest';
import { WaiterQueue } from '#shared/admission/waiters.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

let table: LocalTable;
let clock = Date.UTC(2026, 0, 1);
const tick = () => (clock += 1000);
let queue: WaiterQueue;
const far = () => Math.floor(clock / 1000) + 86_400;

beforeAll(async () => {
  table = await startLocalTable('reelhook-waiters');
});
afterAll(async () => {
  await table?.close();
});
beforeEach(async () => {
  queue = new WaiterQueue(table.db, table.tableName, () => tick());
  // Drain whatever an earlier test left.
  for (let w = await queue.next(); w !== undefined; w = await queue.next()) await queue.remove(w.generation_id);
});

/** Admits waiters one by one as slots free, the way release hands a slot over. */
async function admitOrder(count: number): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const waiter = await queue.next();
    if (waiter === undefined) break;
    await queue.takeTurn(waiter);
    order.push(waiter.generation_id);
    await queue.remove(waiter.generation_id, waiter.task_token);
  }
  return order;
}

describe('WaiterQueue', () => {
  it('is FIFO within a key', async () => {
    for (const id of ['gen_f1', 'gen_f2', 'gen_f3']) await queue.register(id, 'key_a', `token-${id}`, far());
    expect(await admitOrder(5)).toEqual(['gen_f1', 'gen_f2', 'gen_f3']);
    expect(await queue.next()).toBeUndefined();
  });

  it("serves a second key's single generation within one turn of another key's burst", async () => {
    for (let i = 0; i < 20; i += 1) await queue.register(`gen_burst${String(i).padStart(2, '0')}`, 'key_burst', `t${i}`, far());
    // The burst has had its first turn already (e.g. its first slot).
    expect((await admitOrder(1))[0]).toBe('gen_burst00');
    await queue.register('gen_single', 'key_single', 'ts', far());
    expect(await admitOrder(2)).toEqual(['gen_single', 'gen_burst01']);
    expect(await queue.depth()).toEqual({ waiting: 18, oldestSince: expect.any(String) });
  });

  it('keeps a key its turn while no slot is free, however often the next waiter is looked up', async () => {
    for (let i = 0; i < 3; i += 1) await queue.register(`gen_busy${i}`, 'key_busy', `tb${i}`, far());
    expect(await admitOrder(1)).toEqual(['gen_busy0']);
    await queue.register('gen_late', 'key_late', 'tl', far());
    // Every admission attempt while the slots are taken finds the late key's waiter, and must not spend its turn.
    for (let i = 0; i < 3; i += 1) expect((await queue.next())?.generation_id).toBe('gen_late');
    expect(await admitOrder(3)).toEqual(['gen_late', 'gen_busy1', 'gen_busy2']);
  });

  it('keeps the last turn of a key whose queue emptied, so coming back does not put it first', async () => {
    await queue.register('gen_back0', 'key_back', 'tb0', far());
    expect(await admitOrder(1)).toEqual(['gen_back0']);
    // Its queue is empty now; looking up the next waiter unlists the key.
    expect(await queue.next()).toBeUndefined();
    await queue.register('gen_back1', 'key_back', 'tb1', far());
    await queue.register('gen_waiting', 'key_waiting', 'tw', far());
    expect(await admitOrder(2)).toEqual(['gen_waiting', 'gen_back1']);
  });

  it('alternates between keys that both have waiters', async () => {
    for (let i = 0; i < 3; i += 1) {
      await queue.register(`gen_a${i}`, 'key_a', `ta${i}`, far());
      await queue.register(`gen_b${i}`, 'key_b', `tb${i}`, far());
    }
    const keys = (await admitOrder(6)).map((id) => id.slice(0, 5));
    expect(keys).toHaveLength(6);
    expect(keys.every((key, i) => i === 0 || key !== keys[i - 1])).toBe(true);
  });

  it('keeps the first arrival time and its place when a re-run registers again with a new token', async () => {
    const first = await queue.register('gen_r1', 'key_r', 'old-token', far());
    await queue.register('gen_r2', 'key_r', 'r2', far());
    const again = await queue.register('gen_r1', 'key_r', 'new-token', far());
    expect(again.since).toBe(first.since);
    expect(await queue.remove('gen_r1', 'old-token')).toBe(false);
    const next = await queue.next();
    expect(next).toMatchObject({ generation_id: 'gen_r1', task_token: 'new-token' });
    expect(await queue.remove('gen_r1', 'new-token')).toBe(true);
    expect(await admitOrder(2)).toEqual(['gen_r2']);
  });
});
