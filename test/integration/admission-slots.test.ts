/** ProviderSlots' conditional writes against dynalite: never over the limit, idempotent, leases reclaimed, AIMD. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTIVE_GROWTH_EVERY,
  ADAPTIVE_START,
  configuredLimitFromEnv,
  ProviderSlots,
  SLOTS_KEY,
} from '#shared/admission/provider-slots.js';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

let table: LocalTable;
let tableCount = 0;
beforeAll(async () => {
  table = await startLocalTable('reelhook-slots');
});
afterAll(async () => {
  await table?.close();
});

/** The semaphore is one fixed item: each test starts with every slot released. */
async function freshSlots(configuredLimit: number | undefined, now?: () => number): Promise<ProviderSlots> {
  tableCount += 1;
  const slots = new ProviderSlots(table.db, table.tableName, { configuredLimit, now });
  const state = await slots.state();
  for (const id of Object.keys(state.holders)) await slots.release(id);
  // And what earlier tests taught it: no pause, the seed limit, slow start again.
  await table.db.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: SLOTS_KEY },
      UpdateExpression: 'SET #limit = :start, accepted_since_change = :zero REMOVE paused_until, decreased_at',
      ExpressionAttributeNames: { '#limit': 'limit' },
      ExpressionAttributeValues: { ':start': ADAPTIVE_START, ':zero': 0 },
    }),
  );
  return slots;
}

const farLease = () => Math.floor(Date.now() / 1000) + 3600;

describe('ProviderSlots', () => {
  it('grants at most the configured limit under concurrent acquires, and a release frees one', async () => {
    const slots = await freshSlots(3);
    const ids = Array.from({ length: 12 }, (_, i) => `gen_c${tableCount}_${i}`);
    const granted = await Promise.all(ids.map((id) => slots.acquire(id, farLease())));
    expect(granted.filter(Boolean)).toHaveLength(3);
    const state = await slots.state();
    expect(state.held).toBe(3);
    expect(Object.keys(state.holders)).toHaveLength(3);
    const holder = Object.keys(state.holders)[0]!;
    expect(await slots.release(holder)).toBe(true);
    expect(await slots.release(holder)).toBe(false);
    const waiting = ids.find((id) => !(id in state.holders))!;
    expect(await slots.acquire(waiting, farLease())).toBe(true);
    expect((await slots.state()).held).toBe(3);
  });

  it('treats acquiring again by a holder as success without taking a second slot', async () => {
    const slots = await freshSlots(2);
    expect(await slots.acquire('gen_same', farLease())).toBe(true);
    expect(await slots.acquire('gen_same', farLease())).toBe(true);
    expect((await slots.state()).held).toBe(1);
    await slots.release('gen_same');
  });

  it('reclaims expired leases when the limit is reached', async () => {
    let now = Date.now();
    const slots = await freshSlots(1, () => now);
    expect(await slots.acquire('gen_old', Math.floor(now / 1000) + 10)).toBe(true);
    expect(await slots.acquire('gen_new', farLease())).toBe(false);
    now += 11_000;
    expect(await slots.acquire('gen_new', farLease())).toBe(true);
    const state = await slots.state();
    expect(Object.keys(state.holders)).toEqual(['gen_new']);
    expect(state.held).toBe(1);
    await slots.release('gen_new');
  });

  it('adapts: slow start while saturated, then the in-flight count on a 429, then a probe per ADAPTIVE_GROWTH_EVERY', async () => {
    let now = Date.now();
    const slots = await freshSlots(undefined, () => now);
    expect((await slots.state()).limit).toBe(ADAPTIVE_START);
    // An accept below the limit teaches nothing.
    expect(await slots.acquire('gen_a0', farLease())).toBe(true);
    expect(await slots.recordAccepted()).toBe(false);
    for (let i = 1; i < ADAPTIVE_START; i += 1) expect(await slots.acquire(`gen_a${i}`, farLease())).toBe(true);
    expect(await slots.acquire('gen_over', farLease())).toBe(false);
    // Saturated: each accept adds a slot (slow start).
    expect(await slots.recordAccepted()).toBe(true);
    expect((await slots.state()).limit).toBe(ADAPTIVE_START + 1);
    for (let i = 0; i < 3; i += 1) {
      expect(await slots.acquire(`gen_b${i}`, farLease())).toBe(true);
      await slots.recordAccepted();
    }
    expect((await slots.state()).limit).toBe(ADAPTIVE_START + 4);
    // The provider refuses the 8th: the limit drops to the 7 still in flight, and admission pauses.
    expect(await slots.acquire('gen_b3', farLease())).toBe(true);
    await slots.recordRejected('gen_b3', 5_000);
    let state = await slots.state();
    expect(state.limit).toBe(ADAPTIVE_START + 3);
    expect(state.held).toBe(ADAPTIVE_START + 3);
    expect(state.rejections).toBe(1);
    expect(state.pausedUntil).toBe(now + 5_000);
    await slots.release('gen_a0');
    expect(await slots.acquire('gen_paused', farLease())).toBe(false);
    now += 5_000;
    expect(await slots.acquire('gen_paused', farLease())).toBe(true);
    // After a 429, growth needs ADAPTIVE_GROWTH_EVERY saturated accepts.
    for (let i = 1; i < ADAPTIVE_GROWTH_EVERY; i += 1) expect(await slots.recordAccepted()).toBe(false);
    expect(await slots.recordAccepted()).toBe(true);
    state = await slots.state();
    expect(state.limit).toBe(ADAPTIVE_START + 4);
    for (const id of Object.keys(state.holders)) await slots.release(id);
  });

  it('a configured limit never moves, but a 429 still pauses admission', async () => {
    let now = Date.now();
    const slots = await freshSlots(2, () => now);
    expect(await slots.acquire('gen_k1', farLease())).toBe(true);
    expect(await slots.recordAccepted()).toBe(false);
    await slots.recordRejected('gen_k1', 3_000);
    expect((await slots.state()).limit).toBe(2);
    expect(await slots.acquire('gen_k2', farLease())).toBe(false);
    now += 3_000;
    expect(await slots.acquire('gen_k2', farLease())).toBe(true);
    await slots.release('gen_k2');
  });

  it('reads REELHOOK_PROVIDER_CONCURRENCY', () => {
    expect(configuredLimitFromEnv({})).toBeUndefined();
    expect(configuredLimitFromEnv({ REELHOOK_PROVIDER_CONCURRENCY: '7' })).toBe(7);
    expect(() => configuredLimitFromEnv({ REELHOOK_PROVIDER_CONCURRENCY: '0' })).toThrow(/REELHOOK_PROVIDER_CONCURRENCY/);
  });
});
