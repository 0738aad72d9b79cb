/**
 * GenerationStore's conditional writes and its reading of expired records, against
 * dynalite (the DynamoDB wire protocol) on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerationStore } from '#shared/records/generation-store.js';
import { webhookIdFor } from '#shared/records/ids.js';
import { callbackFor } from '#shared/webhooks/notification.js';
import { newGenerationItem, type CallbackInfo, type GenerationItem } from '#shared/records/record.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

let table: LocalTable;
let store: GenerationStore;
let sequence = 0;

beforeAll(async () => {
  table = await startLocalTable('reelhook-store');
  store = new GenerationStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

/** A stored generation; ids and creation times increase with each call, so listings are newest first. */
async function stored(owner: string, fields: Partial<GenerationItem> | ((id: string) => Partial<GenerationItem>) = {}): Promise<GenerationItem> {
  sequence += 1;
  const id = `gen_store${String(sequence).padStart(4, '0')}`;
  const now = new Date(Date.UTC(2026, 0, 1, 0, 0, sequence));
  const item: GenerationItem = {
    ...newGenerationItem({
      id,
      owner,
      now,
      request: {
        model: 'kling-video/v1.6/standard/text-to-video',
        prompt: 'a raccoon',
        params: { duration: 5 },
        metadata: {},
        callback_url: 'https://example.com/hooks',
        callback_events: ['generation.started', 'generation.completed', 'generation.failed'],
        timeout_seconds: 3600,
      },
    }),
    status: 'generating',
    provider: { generation_id: `prov_${id}`, status: 'generating' },
    ...(typeof fields === 'function' ? fields(id) : fields),
  };

  await store.create(item);
  return item;
}

/** A failed generation whose `generation.failed` delivery is in `state`. */
const failedWithDelivery =
  (state: CallbackInfo['state'], attempts: number) =>
  (id: string): Partial<GenerationItem> => ({
    status: 'error',
    callback: {
      url: 'https://example.com/hooks',
      events: ['generation.failed'],
      state,
      attempts,
      last_status_code: state === 'delivered' ? 200 : 500,
      webhook_id: webhookIdFor(id, 'generation.failed'),
      event_type: 'generation.failed',
      last_attempt_at: '2026-01-01T00:10:00.000Z',
    },
  });

describe('records past their expires_at', () => {
  it('reads an expired record as absent, and one that has not expired as it is', async () => {
    const expired = await stored('owner-get', { expires_at: nowSeconds() - 1 });
    const live = await stored('owner-get', { expires_at: nowSeconds() + 3600 });
    const kept = await stored('owner-get');
    expect(await store.get(expired.id)).toBeNull();
    expect(await store.get(live.id)).toEqual(live);
    expect(await store.get(kept.id)).toEqual(kept);
  });

  it('leaves expired records out of a listing, still filling each page and resuming exactly', async () => {
    const owner = 'owner-list';
    const items: GenerationItem[] = [];
    for (let i = 0; i < 7; i++) {
      const expired = i % 2 === 1;
      items.push(await stored(owner, expired ? { expires_at: nowSeconds() - 60 } : { expires_at: nowSeconds() + 3600 }));
    }
    const liveNewestFirst = items.filter((_, i) => i % 2 === 0).reverse().map((item) => item.id);

    const first = await store.listByOwner(owner, { limit: 3 });
    expect(first.items.map((item) => item.id)).toEqual(liveNewestFirst.slice(0, 3));
    const second = await store.listByOwner(owner, { limit: 3, startKey: first.lastKey ?? undefined });
    expect(second.items.map((item) => item.id)).toEqual(liveNewestFirst.slice(3));
  });

  it('applies the status filter and the expiry together', async () => {
    const owner = 'owner-status';
    const queued = await stored(owner, { status: 'queued' });
    await stored(owner, { status: 'queued', expires_at: nowSeconds() - 1 });
    await stored(owner);
    const page = await store.listByOwner(owner, { limit: 10, status: 'queued' });
    expect(page.items.map((item) => item.id)).toEqual([queued.id]);
  });
});

describe('listByOwner next page', () => {
  it('gives no resume point when the page ends exactly at the last item, and one after the last item otherwise', async () => {
    const owner = 'owner-exact';
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await stored(owner)).id);
    const newestFirst = [...ids].reverse();

    const whole = await store.listByOwner(owner, { limit: 4 });
    expect(whole.items.map((item) => item.id)).toEqual(newestFirst);
    expect(whole.lastKey).toBeNull();

    const first = await store.listByOwner(owner, { limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.lastKey).toEqual({ pk: first.items[1]!.pk, gsi1pk: first.items[1]!.gsi1pk, gsi1sk: first.items[1]!.gsi1sk });
    const second = await store.listByOwner(owner, { limit: 2, startKey: first.lastKey! });
    expect(second.items.map((item) => item.id)).toEqual(newestFirst.slice(2));
    expect(second.lastKey).toBeNull();
  });

  it('gives no resume point when only filtered-out or expired items follow the page', async () => {
    const owner = 'owner-tail';
    await stored(owner, { expires_at: nowSeconds() - 1 });
    await stored(owner, { status: 'completed' });
    const a = await stored(owner, { status: 'queued' });
    const b = await stored(owner, { status: 'queued' });
    const page = await store.listByOwner(owner, { limit: 2, status: 'queued' });
    expect(page.items.map((item) => item.id)).toEqual([b.id, a.id]);
    expect(page.lastKey).toBeNull();
    const unfiltered = await store.listByOwner(owner, { limit: 3 });
    expect(unfiltered.items).toHaveLength(3);
    expect(unfiltered.lastKey).toBeNull();
  });
});

describe('setCallbackEvent', () => {
  it('sets the event of an in-flight generation that has none', async () => {
    const item = await stored('owner-callback');
    const callback = callbackFor(item, 'generation.started');
    const updated = await store.setCallbackEvent(item.id, callback);
    expect(updated?.callback).toEqual(callback);
    expect(updated?.callback).toMatchObject({ state: 'pending', webhook_id: webhookIdFor(item.id, 'generation.started') });
  });

  it('never replaces an event already set, nor writes to a generation not in flight', async () => {
    const item = await stored('owner-callback');
    await store.setCallbackEvent(item.id, { ...callbackFor(item, 'generation.started'), attempts: 2 });
    expect(await store.setCallbackEvent(item.id, callbackFor(item, 'generation.started'))).toBeNull();
    expect((await store.get(item.id))?.callback.attempts).toBe(2);

    const queued = await stored('owner-callback', { status: 'queued' });
    expect(await store.setCallbackEvent(queued.id, callbackFor(queued, 'generation.started'))).toBeNull();
    expect((await store.get(queued.id))?.callback.webhook_id).toBeNull();
  });
});

describe('reopenCallback', () => {
  it.each(['delivered', 'failed'] as const)('reopens a %s delivery, keeping its attempts', async (state) => {
    const item = await stored('owner-reopen', failedWithDelivery(state, 3));
    const at = '2026-01-02T00:00:00.000Z';
    const reopened = await store.reopenCallback(item.id, item.callback.webhook_id!, at);
    expect(reopened?.callback).toEqual({ ...item.callback, state: 'pending' });
    expect(reopened?.updated_at).toBe(at);
  });

  it('leaves a delivery that is still pending, or of another event, as it is', async () => {
    const pending = await stored('owner-reopen', failedWithDelivery('pending', 1));
    expect(await store.reopenCallback(pending.id, pending.callback.webhook_id!, new Date().toISOString())).toBeNull();

    const delivered = await stored('owner-reopen', failedWithDelivery('delivered', 1));
    const otherEvent = webhookIdFor(delivered.id, 'generation.completed');
    expect(await store.reopenCallback(delivered.id, otherEvent, new Date().toISOString())).toBeNull();
    expect((await store.get(delivered.id))?.callback.state).toBe('delivered');
  });
});

describe('deleteQueued', () => {
  it('deletes a record that is still queued, and only that', async () => {
    const queued = await stored('owner-delete', { status: 'queued', provider: { generation_id: null, status: null } });
    const started = await stored('owner-delete');
    expect(await store.deleteQueued(queued.id)).toBe(true);
    expect(await store.get(queued.id)).toBeNull();
    expect(await store.deleteQueued(started.id)).toBe(false);
    expect(await store.get(started.id)).toEqual(started);
    expect(await store.deleteQueued(queued.id)).toBe(false);
  });
});

describe('metadata as the caller sent it', () => {
  /** Keys the SDK's own marshalling reads as type hints: a `constructor` key at any depth, inside arrays too. */
  const metadata = JSON.parse(
    '{"constructor":"Ferrari","model":{"constructor":{"name":"String"}},"list":[{"constructor":{"name":"Set"}},{"constructor":{"name":"Map"}}],"n":{"constructor":{"name":"Number"},"valueOf":1}}',
  ) as Record<string, unknown>;

  it('writes and reads back constructor keys exactly: create, get, listing and a transition', async () => {
    const owner = 'key_metadata_echo';
    const item = await stored(owner, { status: 'queued', metadata });
    expect(JSON.stringify((await store.get(item.id))?.metadata)).toBe(JSON.stringify(metadata));
    const page = await store.listByOwner(owner, { limit: 5 });
    expect(JSON.stringify(page.items[0]?.metadata)).toBe(JSON.stringify(metadata));
    const moved = await store.markProviderAccepted(item.id, 'prov_1', 'generating', new Date().toISOString());
    expect(JSON.stringify(moved?.metadata)).toBe(JSON.stringify(metadata));
  });

  it('refuses a record over DynamoDB\'s 400 KB item limit with a ValidationError naming the largest field', async () => {
    const oversized = stored('key_oversized', { metadata: { blob: 'm'.repeat(400 * 1024) } });
    await expect(oversized).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ field: 'metadata', message: expect.stringMatching(/DynamoDB stores at most 409600/) }],
    });
    expect((await store.listByOwner('key_oversized', { limit: 1 })).items).toEqual([]);
  });
});
