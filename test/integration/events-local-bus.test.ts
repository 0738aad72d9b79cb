/**
 * The local EventBridge stand-in: PutEvents over AWS JSON 1.1 from the real client,
 * one NDJSON line per accepted entry, and routing by each rule's event pattern.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEventBridge, type BusEvent, type LocalEventBridge } from '../../local/eventbridge.js';

let dir: string;
let bus: LocalEventBridge;
let client: EventBridgeClient;
const routed: BusEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelhook-bus-'));
  bus = await startLocalEventBridge({
    busName: 'default',
    logPath: join(dir, 'events.ndjson'),
    rules: [
      {
        name: 'Requested',
        pattern: { source: ['my.pipeline'], 'detail-type': ['Video Generation Requested'] },
        target: async (event) => {
          routed.push(event);
          if ((event.detail as { fail?: boolean }).fail) throw new TypeError('the target refused it');
        },
      },
    ],
    region: 'eu-west-1',
    accountId: '123456789012',
  });
  client = new EventBridgeClient({ endpoint: bus.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  await bus?.close();
  await rm(dir, { recursive: true, force: true });
});

const readEvents = async (): Promise<BusEvent[]> =>
  (await readFile(join(dir, 'events.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as BusEvent);

describe('the local EventBridge stand-in', () => {
  it('appends each accepted entry as an event in the shape rule targets receive', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'my.pipeline', DetailType: 'Something Happened', Detail: JSON.stringify({ n: 1 }) },
          { Source: 'my.pipeline', DetailType: 'Something Happened', Detail: JSON.stringify({ n: 2 }), EventBusName: 'default' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries?.map((entry) => entry.EventId)).toEqual([expect.any(String), expect.any(String)]);
    const events = await readEvents();
    expect(events.map((event) => event.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(events[0]).toMatchObject({
      version: '0',
      id: result.Entries?.[0]?.EventId,
      'detail-type': 'Something Happened',
      source: 'my.pipeline',
      account: '123456789012',
      region: 'eu-west-1',
      resources: [],
    });
    expect(routed).toHaveLength(0);
  });

  it('reports invalid entries one by one and keeps the valid ones', async () => {
    const before = (await readEvents()).length;
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'my.pipeline', DetailType: 'Ok', Detail: '{}' },
          { Source: 'my.pipeline', DetailType: 'Bad', Detail: 'not json' },
          { Source: 'my.pipeline', DetailType: 'Elsewhere', Detail: '{}', EventBusName: 'other' },
          { DetailType: 'No Source', Detail: '{}' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(3);
    expect(result.Entries?.map((entry) => entry.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'NotFoundException', 'InvalidArgument']);
    expect((await readEvents()).length).toBe(before + 1);
  });

  it('routes an event matching a rule to its target and records how the target ended', async () => {
    const ok = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 'my.pipeline', DetailType: 'Video Generation Requested', Detail: '{"prompt":"x"}' }] }),
    );
    const failing = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 'my.pipeline', DetailType: 'Video Generation Requested', Detail: '{"fail":true}' }] }),
    );
    await bus.idle();
    expect(routed.map((event) => event.detail)).toEqual([{ prompt: 'x' }, { fail: true }]);
    expect(bus.invocations).toEqual([
      { eventId: ok.Entries?.[0]?.EventId, rule: 'Requested', detailType: 'Video Generation Requested', ok: true },
      {
        eventId: failing.Entries?.[0]?.EventId,
        rule: 'Requested',
        detailType: 'Video Generation Requested',
        ok: false,
        error: { name: 'TypeError', message: 'the target refused it' },
      },
    ]);
  });

  it('routes nothing for an event whose source no rule matches, and still keeps it on the bus', async () => {
    const before = routed.length;
    const put = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 'someone.else', DetailType: 'Video Generation Requested', Detail: '{"prompt":"y"}' }] }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await bus.idle();
    expect(routed).toHaveLength(before);
    expect(bus.invocations.map((invocation) => invocation.eventId)).not.toContain(put.Entries?.[0]?.EventId);
    expect((await readEvents()).at(-1)).toMatchObject({ id: put.Entries?.[0]?.EventId, source: 'someone.else' });
  });

  it('answers operations it does not implement as unknown', async () => {
    await expect(client.send(new ListRulesCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });

  it('rejects a call with more than 10 entries', async () => {
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' }));
    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
