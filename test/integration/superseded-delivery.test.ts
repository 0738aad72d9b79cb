/**
 * A generation.started delivery still pending when the outcome arrives is kept and goes
 * on being retried (CONTRACT.md §3: no pending delivery is lost), and an outcome the
 * caller did not ask for leaves the shown delivery as it was. Against dynalite on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackEventType } from '#shared/generations/request.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { webhookIdFor } from '#shared/records/ids.js';
import { callbackFor, deliveryOf } from '#shared/webhooks/notification.js';
import { newGenerationItem, type CallbackInfo, type GenerationItem } from '#shared/records/record.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

let table: LocalTable;
let store: GenerationStore;
let sequence = 0;

beforeAll(async () => {
  table = await startLocalTable('reelhook-superseded');
  store = new GenerationStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const AT = '2026-01-01T00:05:00.000Z';

/** A generating record whose generation.started delivery is in `started`. */
async function generating(events: CallbackEventType[], started: Pick<CallbackInfo, 'state' | 'attempts'>): Promise<GenerationItem> {
  sequence += 1;
  const id = `gen_superseded${String(sequence).padStart(3, '0')}`;
  const base = newGenerationItem({
    id,
    owner: 'key_superseded',
    now: new Date(Date.UTC(2026, 0, 1)),
    request: {
      model: 'kling-video/v1.6/standard/text-to-video',
      prompt: 'a raccoon',
      params: { duration: 5 },
      metadata: {},
      callback_url: 'https://example.com/hooks',
      callback_events: events,
      timeout_seconds: 3600,
    },
  });
  const item: GenerationItem = {
    ...base,
    status: 'generating',
    callback: { ...callbackFor(base, 'generation.started'), ...started, last_status_code: started.attempts > 0 ? 500 : null },
  };
  await store.create(item);
  return item;
}

const video = { bucket: 'b', key: 'k', s3_uri: 's3://b/k', size_bytes: 1, sha256: 'ab', content_type: 'video/mp4' };

describe('an outcome arriving while generation.started is still being retried', () => {
  it('shows the outcome and keeps the started delivery, with its attempts, as superseded', async () => {
    const item = await generating(['generation.started', 'generation.completed'], { state: 'pending', attempts: 2 });
    const completed = await store.markCompleted(item.id, video, callbackFor(item, 'generation.completed'), AT);

    expect(completed?.callback).toMatchObject({ state: 'pending', attempts: 0, webhook_id: webhookIdFor(item.id, 'generation.completed') });
    const started = deliveryOf(completed!.callback, webhookIdFor(item.id, 'generation.started'));
    expect(started).toEqual({
      slot: 'callback.superseded',
      delivery: expect.objectContaining({ state: 'pending', attempts: 2, event_type: 'generation.started' }) as unknown,
    });
  });

  it('records attempts of each delivery in its own place', async () => {
    const item = await generating(['generation.started', 'generation.completed'], { state: 'pending', attempts: 1 });
    await store.markCompleted(item.id, video, callbackFor(item, 'generation.completed'), AT);
    const startedId = webhookIdFor(item.id, 'generation.started');
    const completedId = webhookIdFor(item.id, 'generation.completed');

    await store.recordCallbackAttempt(item.id, startedId, { state: 'delivered', attempts: 2, last_status_code: 200, last_attempt_at: AT }, 'callback.superseded');
    await store.recordCallbackAttempt(item.id, completedId, { state: 'pending', attempts: 1, last_status_code: 503, last_attempt_at: AT });

    const after = (await store.get(item.id))!;
    expect(after.callback).toMatchObject({ webhook_id: completedId, state: 'pending', attempts: 1, last_status_code: 503 });
    expect(after.callback.superseded).toMatchObject({ webhook_id: startedId, state: 'delivered', attempts: 2, last_status_code: 200 });
  });

  it('ignores an attempt recorded for a delivery that is not where it claims to be', async () => {
    const item = await generating(['generation.started', 'generation.completed'], { state: 'pending', attempts: 1 });
    const startedId = webhookIdFor(item.id, 'generation.started');
    // Nothing superseded yet: the started delivery is still the shown one.
    const stale = await store.recordCallbackAttempt(item.id, startedId, { state: 'failed', attempts: 9, last_status_code: 500, last_attempt_at: AT }, 'callback.superseded');
    expect(stale).toBeNull();
    expect((await store.get(item.id))?.callback).toMatchObject({ webhook_id: startedId, state: 'pending', attempts: 1 });
  });

  it('supersedes nothing when generation.started was already settled', async () => {
    const item = await generating(['generation.started', 'generation.failed'], { state: 'delivered', attempts: 1 });
    const callback = callbackFor(item, 'generation.failed');
    expect(callback).toMatchObject({ state: 'pending', event_type: 'generation.failed', superseded: null });
  });
});

describe('an outcome the caller did not ask for', () => {
  it('leaves the generation.started delivery as the one the record shows', async () => {
    const item = await generating(['generation.started'], { state: 'delivered', attempts: 1 });
    const completed = await store.markCompleted(item.id, video, callbackFor(item, 'generation.completed'), AT);
    expect(completed?.callback).toMatchObject({
      state: 'delivered',
      attempts: 1,
      webhook_id: webhookIdFor(item.id, 'generation.started'),
    });
    expect(deliveryOf(completed!.callback, webhookIdFor(item.id, 'generation.completed'))).toBeNull();
  });
});
