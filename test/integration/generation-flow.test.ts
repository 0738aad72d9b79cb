/**
 * The core path, end to end over loopback: HTTP API → the state machine definition
 * read out of the synthesized CDK template → create / status / copy / record /
 * notify handlers → dynalite, s3rver, the provider simulator → a webhook receiver.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3ClientConfig } from '../../local/s3.js';
import type { LocalStack } from '../../local/stack.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';
import { api, waitFor } from '../support/http.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';
const V1 = 'kling-video/v1/standard/text-to-video';

let fixture: StackFixture;
let stack: LocalStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  fixture = await startStackFixture('flow');
  ({ stack, receiver } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: string, path: string, body?: unknown, key?: string | null) =>
  api(stack.url, method, path, { body, apiKey: key === undefined ? stack.apiKey : key });

async function waitForTerminal(id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { status, json } = await call('GET', `/v2/video/generations/${id}`);
    expect(status).toBe(200);
    return json.status === 'completed' || json.status === 'error' ? json : undefined;
  }, 30_000);
}

describe('a generation through the whole stack', () => {
  it('completes, stores the exact video in S3 and delivers a verified webhook', async () => {
    const created = await call('POST', '/v2/video/generations', {
      model: V16,
      prompt: 'A cheerful white raccoon running through a sequoia forest',
      aspect_ratio: '16:9',
      duration: '5',
      callback_url: `${receiver.url}/hooks`,
      metadata: { order: 42 },
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ status: 'queued', video: null, error: null, model: V16, metadata: { order: 42 } });
    expect(created.json.params).toEqual({ duration: 5, aspect_ratio: '16:9' });
    const id: string = created.json.id;

    const done = await waitForTerminal(id);
    expect(done.status).toBe('completed');
    expect(done.provider.generation_id).toEqual(expect.any(String));
    expect(done.provider.status).toBe('completed');
    expect(done.video).toMatchObject({ content_type: 'video/mp4', s3_uri: `s3://${stack.names.bucketName}/videos/${id}.mp4` });
    expect(done.completed_at).toEqual(expect.any(String));

    // Our copy is byte-identical to what the provider served.
    const fixture = await readFile(join(import.meta.dirname, '../fixtures/sample.mp4'));
    const sha256 = createHash('sha256').update(fixture).digest('hex');
    expect(done.video.sha256).toBe(sha256);
    expect(done.video.size_bytes).toBe(fixture.length);
    const s3 = new S3Client(localS3ClientConfig(stack.s3Endpoint));
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.names.bucketName, Key: `videos/${id}.mp4` }));
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(stored).digest('hex')).toBe(sha256);
    // The time-limited URL in the record downloads the same bytes.
    const downloaded = Buffer.from(await (await fetch(done.video.url)).arrayBuffer());
    expect(downloaded.equals(fixture)).toBe(true);

    const delivery = await waitFor(() => receiver.received.find((hook) => hook.json?.data?.id === id), 15_000);
    const verified = new Webhook(stack.webhookSecret).verify(delivery.body, delivery.headers) as Record<string, any>;
    expect(verified.type).toBe('generation.completed');
    expect(verified.data).toMatchObject({ id, status: 'completed', metadata: { order: 42 } });
    expect(verified.data.video.sha256).toBe(sha256);
    expect(delivery.path).toBe('/hooks');

    const settled = await waitFor(async () => {
      const { json } = await call('GET', `/v2/video/generations?generation_id=${id}`);
      return json.callback.state === 'delivered' ? json : undefined;
    }, 15_000);
    expect(settled.callback).toEqual({
      url: `${receiver.url}/hooks`,
      state: 'delivered',
      attempts: 1,
      last_status_code: 200,
      next_attempt_at: null,
      attempt_log: [{ attempt: 1, at: expect.any(String), trigger: 'schedule', result: 'delivered', status_code: 200, duration_ms: expect.any(Number), error: null }],
    });
  });

  it('records the provider error and delivers generation.failed', async () => {
    const created = await call('POST', '/v2/video/generations', {
      model: V1,
      prompt: 'A storm over the sea [sim:status-error]',
      camera_control: 'forward_up',
      callback_url: `${receiver.url}/failed`,
    });
    expect(created.status).toBe(200);
    const done = await waitForTerminal(created.json.id);
    expect(done.status).toBe('error');
    expect(done.error.name).toBe('ProviderFailed');
    expect(done.error.message).toEqual(expect.any(String));
    expect(done.video).toBeNull();

    const delivery = await waitFor(() => receiver.received.find((hook) => hook.json?.data?.id === created.json.id), 15_000);
    const verified = new Webhook(stack.webhookSecret).verify(delivery.body, delivery.headers) as Record<string, any>;
    expect(verified).toMatchObject({ type: 'generation.failed', data: { status: 'error', error: { name: 'ProviderFailed' } } });
  });

  it('runs the synthesized definition: every state on the success and failure paths was entered', async () => {
    await stack.engine.idle();
    const entered = stack.engine.stateEntries();
    for (const state of [
      'Submit Generation',
      'Wait For Provider',
      'Check Status',
      'Provider Finished?',
      'Copy Video',
      'Record Completion',
      'Record Failure',
      'Notify Callback',
      'Callback Settled?',
      'Generation Outcome?',
      'Generation Completed',
      'Generation Failed',
    ]) {
      expect(entered[state], state).toBeGreaterThan(0);
    }
  });
});

describe('the HTTP API at the edges', () => {
  it('answers /healthz without a key', async () => {
    const { status, json } = await call('GET', '/healthz', undefined, null);
    expect(status).toBe(200);
    expect(json).toEqual({ ok: true });
  });

  it('rejects a missing or unknown key with 401', async () => {
    for (const key of [null, 'rk_not_a_real_key']) {
      const { status, json } = await call('GET', '/v2/video/generations?generation_id=gen_x', undefined, key);
      expect(status).toBe(401);
      expect(json.error.name).toBe('Unauthorized');
    }
  });

  it('names the offending field of an invalid body and starts nothing', async () => {
    const before = stack.simulator!.counters.creates;
    const { status, json } = await call('POST', '/v2/video/generations', {
      model: V16,
      prompt: 'x',
      camera_control: 'down_back',
    });
    expect(status).toBe(400);
    expect(json.error.name).toBe('ValidationError');
    expect(json.error.message).toContain('camera_control');
    expect(stack.simulator!.counters.creates).toBe(before);
  });

  it('answers 404 for an unknown generation id', async () => {
    const { status, json } = await call('GET', '/v2/video/generations/gen_doesnotexist');
    expect(status).toBe(404);
    expect(json.error.name).toBe('NotFound');
  });

  it('answers 415 for a body that is not JSON-typed and 413 for one over 64 KiB', async () => {
    const typed = await fetch(`${stack.url}/v2/video/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(typed.status).toBe(415);
    const big = await call('POST', '/v2/video/generations', { model: V16, prompt: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.json.error.name).toBe('PayloadTooLarge');
  });

  it('lists the caller\'s generations newest first with a working cursor', async () => {
    const first = await call('GET', '/v2/video/generations?limit=1');
    expect(first.status).toBe(200);
    expect(first.json.data).toHaveLength(1);
    expect(first.json.next_cursor).toEqual(expect.any(String));
    const second = await call('GET', `/v2/video/generations?limit=1&cursor=${first.json.next_cursor}`);
    expect(second.json.data).toHaveLength(1);
    expect(second.json.data[0].id).not.toBe(first.json.data[0].id);
    expect(second.json.data[0].created_at <= first.json.data[0].created_at).toBe(true);
  });
});
