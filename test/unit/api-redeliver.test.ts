/**
 * What a redeliver call starts, with the store and Step Functions replaced by recorders:
 * during a pending delivery, a retry-now run for the attempt after the recorded count
 * (none while an attempt is being sent); the route runs against the local stack in
 * test/integration/webhooks-retry-now.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import type { GenerationEvents } from '#shared/events/bus.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import type { IdempotencyStore } from '#shared/records/idempotency.js';
import { webhookIdFor } from '#shared/records/ids.js';
import { generationKey, ownerIndexKey, type AttemptEntry, type GenerationItem } from '#shared/records/record.js';
import { IN_FLIGHT_GRACE_MS } from '#shared/webhooks/attempt-plan.js';
import { GenerationRoutes } from '../../functions/api/generations.js';
import { EMPTY_HISTOGRAM } from '#shared/polling/duration-history.js';
import { GenerationEstimates } from '../../functions/api/estimates.js';

/** These records never have the provider working, so no history is read. */
const noHistory = new GenerationEstimates({ months: () => ({ current: '2026-01', previous: '2025-12' }), loadMonth: async () => EMPTY_HISTOGRAM }, { waitScale: 1 });

const ID = 'gen_01jd0000000000000000000000';
const caller = { key_id: 'key_1' } as ApiKeyRecord;

const attempt = (number: number, more: Partial<AttemptEntry> = {}): AttemptEntry => ({
  attempt: number,
  at: '2026-01-01T00:00:00.000Z',
  trigger: 'schedule',
  finished: true,
  delivered: false,
  status_code: 500,
  duration_ms: 12,
  error: 'receiver answered 500',
  ...more,
});

function generation(status: GenerationItem['status'], eventType: 'generation.started' | 'generation.completed', log: AttemptEntry[]): GenerationItem {
  return {
    pk: generationKey(ID),
    id: ID,
    owner: 'key_1',
    status,
    model: 'kling-video/v1.6/standard/text-to-video',
    prompt: 'a raccoon',
    params: {},
    metadata: {},
    provider: { generation_id: 'prov_1', status },
    provider_video_url: null,
    video: null,
    error: null,
    meta: null,
    callback: {
      url: 'http://127.0.0.1:9/hooks',
      events: ['generation.started', 'generation.completed'],
      state: 'pending',
      attempts: log.length,
      last_status_code: 500,
      webhook_id: webhookIdFor(ID, eventType),
      event_type: eventType,
      last_attempt_at: '2026-01-01T00:00:00.000Z',
      attempt_log: Object.fromEntries(log.map((entry) => [String(entry.attempt), entry])),
      next_attempt_at: '2026-01-01T00:05:00.000Z',
    },
    timeout_seconds: 3600,
    deadline_at: '2026-01-01T01:00:00.000Z',
    polls: 1,
    timeline: { accepted: '2026-01-01T00:00:00.000Z' },
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    completed_at: status === 'completed' ? '2026-01-01T00:00:00.000Z' : null,
    gsi1pk: ownerIndexKey('key_1'),
    gsi1sk: `2026-01-01T00:00:00.000Z#${ID}`,
  };
}

/** Routes over a store holding `item`; `starts` collects the executions started. */
function routesOver(item: GenerationItem) {
  const starts: Array<{ name?: string; input: unknown }> = [];
  const sfn = {
    send: async (command: unknown) => {
      if (command instanceof StartExecutionCommand) starts.push({ name: command.input.name, input: JSON.parse(command.input.input ?? 'null') });
      return {};
    },
  } as unknown as SFNClient;
  const routes = new GenerationRoutes({
    store: { get: async () => item } as unknown as GenerationStore,
    idempotency: {} as IdempotencyStore,
    sfn,
    s3: {} as S3Client,
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook',
    recordTtlDays: null,
    events: {} as GenerationEvents,
    estimates: noHistory,
    logger: new Logger({ logLevel: 'SILENT' }),
  });
  return { routes, starts };
}

describe('redeliver during a pending delivery', () => {
  it('starts a retry-now run for the attempt after the recorded ones', async () => {
    const { routes, starts } = routesOver(generation('completed', 'generation.completed', [attempt(1), attempt(2)]));
    const answer = await routes.redeliver(caller, ID);
    expect(answer.callback).toMatchObject({ state: 'pending', attempts: 2, next_attempt_at: '2026-01-01T00:05:00.000Z' });
    expect(starts).toEqual([
      {
        name: `${ID}-retry-now-2`,
        input: {
          generation_id: ID,
          notification: { outcome: 'completed', event_type: 'generation.completed', webhook_id: webhookIdFor(ID, 'generation.completed'), retry_now_after: 2 },
        },
      },
    ]);
  });

  it('retries a pending generation.started before the generation has finished', async () => {
    const { routes, starts } = routesOver(generation('generating', 'generation.started', [attempt(1)]));
    await routes.redeliver(caller, ID);
    expect(starts).toEqual([
      {
        name: `${ID}-retry-now-1`,
        input: { generation_id: ID, notification: { outcome: 'started', event_type: 'generation.started', webhook_id: webhookIdFor(ID, 'generation.started'), retry_now_after: 1 } },
      },
    ]);
  });

  it('starts nothing while an attempt is being sent, and again once that attempt is overdue', async () => {
    const sending = attempt(2, { at: new Date().toISOString(), finished: false, status_code: null, duration_ms: null, error: null });
    const busy = routesOver(generation('completed', 'generation.completed', [attempt(1), sending]));
    expect((await busy.routes.redeliver(caller, ID)).callback.attempt_log[1]).toMatchObject({ result: 'in_progress' });
    expect(busy.starts).toEqual([]);

    const stale = attempt(2, { at: new Date(Date.now() - IN_FLIGHT_GRACE_MS - 1_000).toISOString(), finished: false, status_code: null, duration_ms: null, error: null });
    const stuck = routesOver(generation('completed', 'generation.completed', [attempt(1), stale]));
    await stuck.routes.redeliver(caller, ID);
    expect(stuck.starts.map((start) => start.name)).toEqual([`${ID}-retry-now-2`]);
  });
});
