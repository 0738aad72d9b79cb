/**
 * EventBridge in and out through the whole local stack: every transition appears in
 * the data folder's events.ndjson, and a `Video Generation Requested` event put with the
 * real EventBridge client starts a generation through the same path as the HTTP API.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE } from '#shared/events/bus.js';
import type { BusEvent } from '../../local/eventbridge.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

let stack: LocalStack;
let dataDir: string;
let events: EventBridgeClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-events-'));
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 } });
  events = new EventBridgeClient({
    endpoint: stack.eventBus.endpoint,
    region: stack.names.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, path: string, body?: unknown) => api(stack.url, method, path, { body, apiKey: stack.apiKey });

async function busEvents(): Promise<BusEvent[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BusEvent);
}

const transitionsOf = async (id: string): Promise<string[]> =>
  (await busEvents())
    .filter((event) => event.source === 'reelhook' && (event.detail as { id?: string }).id === id)
    .map((event) => event['detail-type']);

async function waitForTerminal(id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { json } = await call('GET', `/v2/video/generations/${id}`);
    return json.status === 'completed' || json.status === 'error' ? json : undefined;
  }, 20_000);
}

/** Puts one `Video Generation Requested` event and waits until the intake function has handled it. */
async function request(detail: Record<string, unknown>) {
  const put = await events.send(
    new PutEventsCommand({ Entries: [{ Source: EVENT_SOURCE, DetailType: 'Video Generation Requested', Detail: JSON.stringify(detail) }] }),
  );
  expect(put.FailedEntryCount).toBe(0);
  const eventId = put.Entries?.[0]?.EventId;
  return waitFor(() => stack.eventBus.invocations.find((invocation) => invocation.eventId === eventId), 10_000);
}

async function generationsWithMarker(marker: string): Promise<Array<Record<string, any>>> {
  const { json } = await call('GET', '/v2/video/generations?limit=100');
  return (json.data as Array<Record<string, any>>).filter((generation) => generation.metadata?.marker === marker);
}

describe('events out', () => {
  it('publishes Started and Completed for a generation that completes, with the public record as detail', async () => {
    const created = await call('POST', '/v2/video/generations', { model: V16, prompt: 'A fox in snow', metadata: { marker: 'out-ok' } });
    const id: string = created.json.id;
    const done = await waitForTerminal(id);
    expect(done.status).toBe('completed');
    await waitFor(async () => ((await transitionsOf(id)).length >= 2 ? true : undefined), 5_000);
    expect(await transitionsOf(id)).toEqual(['Video Generation Started', 'Video Generation Completed']);

    const completed = (await busEvents()).find(
      (event) => event['detail-type'] === 'Video Generation Completed' && (event.detail as { id: string }).id === id,
    );
    expect(completed?.detail).toMatchObject({ id, status: 'completed', metadata: { marker: 'out-ok' }, video: { sha256: done.video.sha256 } });
    expect(completed?.detail).not.toHaveProperty('owner');
  });

  it('publishes Started and Failed for a generation the provider fails', async () => {
    const created = await call('POST', '/v2/video/generations', { model: V16, prompt: 'A fox in rain [sim:status-error]' });
    const id: string = created.json.id;
    expect((await waitForTerminal(id)).status).toBe('error');
    await waitFor(async () => ((await transitionsOf(id)).length >= 2 ? true : undefined), 5_000);
    expect(await transitionsOf(id)).toEqual(['Video Generation Started', 'Video Generation Failed']);
  });
});

describe('events in', () => {
  it('starts a generation from a Video Generation Requested event, which then completes', async () => {
    const invocation = await request({ model: V16, prompt: 'A fox on a hill', duration: '5', metadata: { marker: 'in-ok' }, api_key_id: stack.keyId });
    expect(invocation).toMatchObject({ ok: true });
    const [generation] = await generationsWithMarker('in-ok');
    expect(generation).toMatchObject({ model: V16, params: { duration: 5 } });
    expect((await waitForTerminal(generation!.id)).status).toBe('completed');
  });

  it('starts one generation for repeats of an event with the same idempotency_key', async () => {
    const detail = { model: V16, prompt: 'A fox at noon', metadata: { marker: 'in-idem' }, api_key_id: stack.keyId, idempotency_key: 'batch-7' };
    expect(await request(detail)).toMatchObject({ ok: true });
    expect(await request(detail)).toMatchObject({ ok: true });
    const generations = await generationsWithMarker('in-idem');
    expect(generations).toHaveLength(1);
    // Its provider job is made before the next test counts the provider's creates.
    expect((await waitForTerminal(generations[0]!.id)).status).toBe('completed');
  });

  it('starts nothing for an invalid body, naming the field', async () => {
    const before = stack.simulator!.counters.creates;
    const invocation = await request({ model: V16, prompt: 'A fox', camera_control: 'down_back', metadata: { marker: 'in-bad' }, api_key_id: stack.keyId });
    expect(invocation).toMatchObject({ ok: false, error: { name: 'ValidationError', message: expect.stringContaining('camera_control') } });
    expect(await generationsWithMarker('in-bad')).toHaveLength(0);
    expect(stack.simulator!.counters.creates).toBe(before);
  });

  it('starts nothing for an unknown or missing api_key_id', async () => {
    const unknown = await request({ model: V16, prompt: 'A fox', metadata: { marker: 'in-nokey' }, api_key_id: 'key_doesnotexist' });
    expect(unknown).toMatchObject({ ok: false, error: { name: 'Unauthorized' } });
    const missing = await request({ model: V16, prompt: 'A fox', metadata: { marker: 'in-nokey' } });
    expect(missing).toMatchObject({ ok: false, error: { name: 'ValidationError', message: expect.stringContaining('api_key_id') } });
    expect(await generationsWithMarker('in-nokey')).toHaveLength(0);
  });

  it('starts nothing for a request from any other source, however valid its api_key_id', async () => {
    const before = stack.simulator!.counters.creates;
    const put = await events.send(
      new PutEventsCommand({
        Entries: ['test.pipeline', 'reelhook.client', 'aws.events'].map((source) => ({
          Source: source,
          DetailType: 'Video Generation Requested',
          Detail: JSON.stringify({ model: V16, prompt: 'A fox', metadata: { marker: 'in-foreign' }, api_key_id: stack.keyId }),
        })),
      }),
    );
    // The bus takes them, as EventBridge does; no rule sends them anywhere.
    expect(put.FailedEntryCount).toBe(0);
    await stack.eventBus.idle();
    const ids = put.Entries?.map((entry) => entry.EventId);
    expect(stack.eventBus.invocations.filter((invocation) => ids?.includes(invocation.eventId))).toEqual([]);
    expect(await generationsWithMarker('in-foreign')).toHaveLength(0);
    expect(stack.simulator!.counters.creates).toBe(before);
  });

  it('has the intake handler itself refuse a foreign source that reaches it some other way', async () => {
    // The module the stack runs (same process, same module instance).
    const { handler } = await import('../../functions/intake/handler.js');
    const event = {
      version: '0',
      id: 'direct-1',
      source: 'test.pipeline',
      'detail-type': 'Video Generation Requested' as const,
      account: stack.names.accountId,
      time: new Date().toISOString(),
      region: stack.names.region,
      resources: [],
      detail: { model: V16, prompt: 'A fox', metadata: { marker: 'in-direct' }, api_key_id: stack.keyId },
    };
    await expect(handler(event)).rejects.toMatchObject({ name: 'Unauthorized', message: expect.stringContaining('test.pipeline') });
    expect(await generationsWithMarker('in-direct')).toHaveLength(0);
  });
});
