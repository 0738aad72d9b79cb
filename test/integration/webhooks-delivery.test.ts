/**
 * Webhook delivery through the whole local stack, against a real receiver on loopback:
 * signatures, the durable retry loop, the final states of a delivery, generation.started,
 * redelivery, and the callback URLs refused at submission.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import type { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

let fixture: StackFixture;
let stack: LocalStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  fixture = await startStackFixture('webhooks');
  ({ stack, receiver } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: string, path: string, body?: unknown) => api(stack.url, method, path, { body, apiKey: stack.apiKey });

async function generate(path: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await call('POST', '/v2/video/generations', { model: V16, prompt: 'A heron at dawn', callback_url: `${receiver.url}${path}`, ...extra });
  expect(created.status).toBe(200);
  return created.json.id as string;
}

/** The record once its callback has settled (delivered or failed). */
function settled(id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { json } = await call('GET', `/v2/video/generations/${id}`);
    return json.callback.state === 'delivered' || json.callback.state === 'failed' ? json : undefined;
  }, 20_000);
}

const hooksFor = (id: string): ReceivedWebhook[] => receiver.received.filter((hook) => hook.json?.data?.id === id);

function verify(hook: ReceivedWebhook): Record<string, any> {
  return new Webhook(stack.webhookSecret).verify(hook.body, hook.headers) as Record<string, any>;
}

describe('webhook delivery', () => {
  it('retries a failing receiver with the same webhook-id until it answers 2xx', async () => {
    receiver.respondWith.push(500, 503);
    const id = await generate('/flaky');
    const record = await settled(id);
    expect(record.status).toBe('completed');
    expect(record.callback).toMatchObject({ url: `${receiver.url}/flaky`, state: 'delivered', attempts: 3, last_status_code: 200, next_attempt_at: null });
    expect(record.callback.attempt_log.map((entry: Record<string, unknown>) => [entry.attempt, entry.result, entry.status_code])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 503],
      [3, 'delivered', 200],
    ]);

    const hooks = hooksFor(id);
    expect(hooks).toHaveLength(3);
    expect(new Set(hooks.map((hook) => hook.headers['webhook-id']))).toEqual(new Set([`msg_${id.slice(4)}_completed`]));
    for (const hook of hooks) expect(verify(hook)).toMatchObject({ type: 'generation.completed', data: { id, status: 'completed' } });
  });

  it('marks the callback failed after the whole schedule while the generation stays completed', async () => {
    const down = createServer();
    down.listen(0, '127.0.0.1');
    await once(down, 'listening');
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));

    const created = await call('POST', '/v2/video/generations', { model: V16, prompt: 'A heron at dusk', callback_url: `http://127.0.0.1:${port}/down` });
    const id: string = created.json.id;
    const record = await settled(id);
    expect(record.status).toBe('completed');
    expect(record.error).toBeNull();
    expect(record.callback).toMatchObject({ state: 'failed', attempts: 8, last_status_code: null });
    await waitFor(() => (stack.engine.describeExecution(executionArn(id)).status === 'RUNNING' ? undefined : true), 5_000);
    expect(stack.engine.describeExecution(executionArn(id)).status).toBe('SUCCEEDED');
  });

  it('retries after 410 Gone like any other non-2xx answer', async () => {
    receiver.respondWith.push(410);
    const id = await generate('/gone');
    const record = await settled(id);
    expect(record.callback).toMatchObject({ state: 'delivered', attempts: 2, last_status_code: 200 });
    expect(hooksFor(id)).toHaveLength(2);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    receiver.respondWith.push(302);
    const id = await generate('/moved');
    const record = await settled(id);
    expect(record.callback).toMatchObject({ state: 'delivered', attempts: 2, last_status_code: 200 });
    expect(hooksFor(id).map((hook) => hook.path)).toEqual(['/moved', '/moved']);
  });

  it('sends generation.started when the provider accepts, then the outcome, each with its own webhook-id', async () => {
    const id = await generate('/lifecycle', { callback_events: ['generation.started', 'generation.completed'] });
    const record = await waitFor(async () => {
      const { json } = await call('GET', `/v2/video/generations/${id}`);
      return json.status === 'completed' && json.callback.state === 'delivered' ? json : undefined;
    }, 20_000);
    expect(record.callback.attempts).toBe(1);

    const events = hooksFor(id).map(verify);
    expect(events.map((event) => event.type)).toEqual(['generation.started', 'generation.completed']);
    expect(events[0]?.data).toMatchObject({ id, status: 'generating', video: null });
    expect(events[0]?.data.provider.generation_id).toEqual(expect.any(String));
    const ids = hooksFor(id).map((hook) => hook.headers['webhook-id']);
    expect(ids).toEqual([`msg_${id.slice(4)}_started`, `msg_${id.slice(4)}_completed`]);
  });

  it('sends only the events the caller asked for', async () => {
    const id = await generate('/started-only', { callback_events: ['generation.started'] });
    await waitFor(async () => ((await call('GET', `/v2/video/generations/${id}`)).json.status === 'completed' ? true : undefined), 20_000);
    await waitFor(() => (stack.engine.listExecutions('RUNNING').some((execution) => execution.name.startsWith(id)) ? undefined : true), 5_000);
    expect(hooksFor(id).map((hook) => hook.json.type)).toEqual(['generation.started']);
    // The outcome nobody asked for leaves the record showing the delivery that was made.
    const { json } = await call('GET', `/v2/video/generations/${id}`);
    expect(json.callback).toMatchObject({ state: 'delivered', attempts: 1, last_status_code: 200 });
  });

  it('redelivers a settled webhook with the same webhook-id', async () => {
    const id = await generate('/again');
    const first = await settled(id);
    expect(first.callback).toMatchObject({ state: 'delivered', attempts: 1 });
    const redeliver = await call('POST', `/v2/video/generations/${id}/redeliver`);
    expect(redeliver.status).toBe(202);
    const second = await waitFor(async () => {
      const { json } = await call('GET', `/v2/video/generations/${id}`);
      return json.callback.state === 'delivered' && json.callback.attempts === 2 ? json : undefined;
    }, 20_000);
    expect(second.callback.last_status_code).toBe(200);
    const hooks = hooksFor(id);
    expect(hooks).toHaveLength(2);
    expect(hooks[1]?.headers['webhook-id']).toBe(hooks[0]?.headers['webhook-id']);
    expect(verify(hooks[1]!)).toMatchObject({ type: 'generation.completed', data: { id } });
  });

  it('refuses callback URLs that point at forbidden addresses when the generation is submitted', async () => {
    const before = stack.simulator!.counters.creates;
    for (const callback_url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/hook', 'http://[fd00:ec2::254]/', 'https://user:pw@127.0.0.1/']) {
      const { status, json } = await call('POST', '/v2/video/generations', { model: V16, prompt: 'A heron', callback_url });
      expect(status, callback_url).toBe(400);
      expect(json.error.name).toBe('ValidationError');
      expect(json.error.message).toContain('callback_url');
    }
    expect(stack.simulator!.counters.creates).toBe(before);
  });
});

function executionArn(name: string): string {
  return `${stack.names.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
