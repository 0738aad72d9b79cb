/** ProviderSlots' conditional writes against dynalite: never over the limit, idempotent, leases reclaimed, AIMD. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTIVE_GROWTH_EVERY,
  ADAPTIVE_START,
  configuredLimitFromEnv,
  ProviderSlots,
} from '#shared/admission/provider-slots.js';
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

  it('adapts: starts at the seed, grows after accepted creates, halves once per burst of 429s', async () => {
    let now = Date.now();
    const slots = await freshSlots(undefined, () => now);
    const start = (await slots.state()).limit;
    expect(start).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < ADAPTIVE_GROWTH_EVERY; i += 1) await slots.recordAccepted();
    expect((await slots.state()).limit).toBe(start + 1);
    await slots.recordRejected();
    await slots.recordRejected();
    expect((await slots.state()).limit).toBe(Math.max(1, Math.floor((start + 1) / 2)));
    now += 60_000;
    await slots.recordRejected();
    expect((await slots.state()).limit).toBe(Math.max(1, Math.floor(Math.floor((start + 1) / 2) / 2)));
    expect(ADAPTIVE_START).toBe(4);
  });

  it('reads REELHOOK_PROVIDER_CONCURRENCY', () => {
    expect(configuredLimitFromEnv({})).toBeUndefined();
    expect(configuredLimitFromEnv({ REELHOOK_PROVIDER_CONCURRENCY: '7' })).toBe(7);
    expect(() => configuredLimitFromEnv({ REELHOOK_PROVIDER_CONCURRENCY: '0' })).toThrow(/REELHOOK_PROVIDER_CONCURRENCY/);
  });
});
