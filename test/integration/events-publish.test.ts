/**
 * Publishing generation events through the real EventBridge client, against the local
 * bus stand-in on loopback.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_PUBLISH_FAILED, EventPublishFailed } from '#shared/errors.js';
import { EVENT_SOURCE, EventDetailType, GenerationEvents, outcomeDetailType } from '#shared/events/bus.js';
import type { PublicGeneration } from '#shared/records/record.js';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge.js';

const generation: PublicGeneration = {
  id: 'gen_events1',
  status: 'completed',
  video: { url: 'http://127.0.0.1:1/v.mp4', s3_uri: 's3://b/videos/gen_events1.mp4', size_bytes: 10, sha256: 'ab', content_type: 'video/mp4' },
  error: null,
  meta: null,
  model: 'kling-video/v1.6/standard/text-to-video',
  prompt: 'A raccoon',
  params: { duration: 5 },
  metadata: { order: 42 },
  provider: { generation_id: 'p1', status: 'completed' },
  callback: { url: null, state: 'none', attempts: 0, last_status_code: null, next_attempt_at: null, attempt_log: [] },
  timeline: { accepted: '2026-01-01T00:00:00.000Z' },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:01:00.000Z',
  completed_at: '2026-01-01T00:01:00.000Z',
};

const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const clientFor = (endpoint: string) => new EventBridgeClient(clientConfig(endpoint));

let dir: string;
let bus: LocalEventBridge;
let logPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelhook-events-'));
  logPath = join(dir, 'events.ndjson');
  bus = await startLocalEventBridge({ busName: 'reelhook', logPath, rules: [] });
});

afterAll(async () => {
  await bus?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GenerationEvents.publish', () => {
  it('puts one event with source reelhook and the public record as detail', async () => {
    await new GenerationEvents(clientFor(bus.endpoint), 'reelhook').publish(EventDetailType.Completed, generation);
    const lines = (await readFile(logPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ source: EVENT_SOURCE, 'detail-type': 'Video Generation Completed', detail: generation });
    expect(lines[0].id).toEqual(expect.any(String));
  });

  it('throws EventPublishFailed when the bus refuses the entry', async () => {
    const publishing = new GenerationEvents(clientFor(bus.endpoint), 'no-such-bus').publish(EventDetailType.Started, generation);
    await expect(publishing).rejects.toBeInstanceOf(EventPublishFailed);
    await expect(publishing).rejects.toMatchObject({ name: EVENT_PUBLISH_FAILED, message: expect.stringContaining('NotFoundException') });
  });

  it('throws EventPublishFailed when EventBridge cannot be reached', async () => {
    const gone = await startLocalEventBridge({ busName: 'reelhook', logPath: join(dir, 'gone.ndjson'), rules: [] });
    await gone.close();
    const client = new EventBridgeClient({ ...clientConfig(gone.endpoint), maxAttempts: 1 });
    const publishing = new GenerationEvents(client, 'reelhook').publish(EventDetailType.Failed, generation);
    await expect(publishing).rejects.toMatchObject({ name: EVENT_PUBLISH_FAILED });
  });
});

describe('outcomeDetailType', () => {
  it('names the event of each terminal status', () => {
    expect(outcomeDetailType('completed')).toBe('Video Generation Completed');
    expect(outcomeDetailType('error')).toBe('Video Generation Failed');
    expect(() => outcomeDetailType('generating')).toThrow();
  });
});
