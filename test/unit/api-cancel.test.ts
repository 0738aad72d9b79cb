/**
 * The order of a cancel's effects (record, event, execution), with the store, the bus
 * and Step Functions replaced by recorders; the whole route runs against the local
 * stack in test/integration/api-cancel.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, it, vi } from 'vitest';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { EventPublishFailed } from '#shared/errors.js';
import type { GenerationEvents } from '#shared/events/bus.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import type { IdempotencyStore } from '#shared/records/idempotency.js';
import { isId, newId } from '#shared/records/ids.js';
import { generationKey, ownerIndexKey, type GenerationItem } from '#shared/records/record.js';
import { GenerationRoutes } from '../../functions/api/generations.js';
import { EMPTY_HISTOGRAM } from '#shared/polling/duration-history.js';
import { GenerationEstimates } from '../../functions/api/estimates.js';

/** These records never have the provider working, so no history is read. */
const noHistory = new GenerationEstimates({ months: () => ({ current: '2026-01', previous: '2025-12' }), loadMonth: async () => EMPTY_HISTOGRAM }, { waitScale: 1 });

const caller = { key_id: 'key_1' } as ApiKeyRecord;
const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook';

const inFlight: GenerationItem = {
  pk: generationKey('gen_01jd0000000000000000000000'),
  id: 'gen_01jd0000000000000000000000',
  owner: 'key_1',
  status: 'generating',
  model: 'kling-video/v1.6/standard/text-to-video',
  prompt: 'a raccoon',
  params: {},
  metadata: {},
  provider: { generation_id: 'prov_1', status: 'generating' },
  provider_video_url: null,
  video: null,
  error: null,
  meta: null,
  callback: { url: null, events: [], state: 'none', attempts: 0, last_status_code: null, webhook_id: null, event_type: null, last_attempt_at: null },
  timeout_seconds: 3600,
  deadline_at: '2026-01-01T01:00:00.000Z',
  polls: 1,
  timeline: { accepted: '2026-01-01T00:00:00.000Z' },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  completed_at: null,
  gsi1pk: ownerIndexKey('key_1'),
  gsi1sk: '2026-01-01T00:00:00.000Z#gen_01jd0000000000000000000000',
};

/** Routes whose collaborators append what they are asked to do to `effects`. */
function routesWith(publish: () => Promise<void>) {
  const effects: string[] = [];
  const store = {
    get: async () => inFlight,
    markFailed: async (_id: string, error: { name: string; message: string }, callback: GenerationItem['callback'], at: string) => {
      effects.push('markFailed');
      return { ...inFlight, status: 'error', error, callback, completed_at: at, updated_at: at } satisfies GenerationItem;
    },
  } as unknown as GenerationStore;
  const events = {
    publish: async (detailType: string) => {
      effects.push(`publish ${detailType}`);
      await publish();
    },
  } as unknown as GenerationEvents;
  const sfn = {
    send: async (command: unknown) => {
      if (command instanceof StopExecutionCommand) effects.push(`stop ${command.input.executionArn?.split(':').pop()}`);
      if (command instanceof StartExecutionCommand) effects.push(`start ${command.input.name}`);
      return {};
    },
  } as unknown as SFNClient;
  const logger = new Logger({ logLevel: 'SILENT' });
  const warn = vi.spyOn(logger, 'warn');
  const routes = new GenerationRoutes({
    store,
    idempotency: {} as IdempotencyStore,
    sfn,
    s3: {} as S3Client,
    stateMachineArn: STATE_MACHINE,
    recordTtlDays: null,
    events,
    estimates: noHistory,
    logger,
  });
  return { routes, effects, warn, store };
}

describe('GenerationRoutes.cancel', () => {
  it('records the cancel, publishes Video Generation Failed, then stops the run and starts the delivery', async () => {
    const { routes, effects } = routesWith(async () => undefined);
    const cancelled = await routes.cancel(caller, 'gen_01jd0000000000000000000000');
    expect(cancelled).toMatchObject({ id: 'gen_01jd0000000000000000000000', status: 'error', error: { name: 'Cancelled' } });
    expect(effects).toEqual(['markFailed', 'publish Video Generation Failed', 'stop gen_01jd0000000000000000000000', 'start gen_01jd0000000000000000000000-cancel']);
  });

  it('still answers the cancel when the bus refuses, leaving the run to publish through Record Failure', async () => {
    const { routes, effects, warn } = routesWith(async () => {
      throw new EventPublishFailed('PutEvents of "Video Generation Failed" failed: throttled');
    });
    const cancelled = await routes.cancel(caller, 'gen_01jd0000000000000000000000');
    expect(cancelled).toMatchObject({ id: 'gen_01jd0000000000000000000000', status: 'error', error: { name: 'Cancelled' } });
    expect(effects).toEqual(['markFailed', 'publish Video Generation Failed']);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('fails on any other error of the publisher', async () => {
    const { routes } = routesWith(async () => {
      throw new TypeError('a bug');
    });
    await expect(routes.cancel(caller, 'gen_01jd0000000000000000000000')).rejects.toThrow('a bug');
  });
});

describe('a malformed generation id', () => {
  it('has the shape newId makes, and nothing else does', () => {
    expect(isId('gen', newId('gen'))).toBe(true);
    expect(isId('gen', 'gen_01jd0000000000000000000000')).toBe(true);
    for (const id of ['', 'gen_', 'gen_1', `gen_${'0'.repeat(27)}`, `gen_${'0'.repeat(25)}`, 'gen_01JD0000000000000000000000', 'gen_01jd000000000000000000000u', 'key_01jd0000000000000000000000', `gen_${'x'.repeat(3000)}`]) {
      expect(isId('gen', id), id).toBe(false);
    }
  });

  it('answers NotFound on every per-id route without reading the store, echoing at most 64 characters of it', async () => {
    const { routes, store } = routesWith(async () => undefined);
    const get = vi.spyOn(store, 'get');
    const id = `gen_${'x'.repeat(3000)}`;
    for (const call of [() => routes.get(caller, id), () => routes.cancel(caller, id), () => routes.redeliver(caller, id)]) {
      const error = await call().then(() => null, (thrown: unknown) => thrown as Error & { name: string });
      expect(error?.name).toBe('NotFound');
      expect(error!.message.length).toBeLessThan(100);
    }
    expect(get).not.toHaveBeenCalled();
  });
});
