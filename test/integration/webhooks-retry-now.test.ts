/**
 * "Retry now" over the HTTP API, on the local stack: a receiver answering 500 is fixed,
 * and a redeliver call during the pending delivery makes the next attempt at once
 * instead of answering 409. The schedule runs at 1/5 of real time, so after two failed
 * attempts the third is a minute away: an attempt before then is the redeliver's.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';

let fixture: StackFixture;
let stack: LocalStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  fixture = await startStackFixture('retry-now', { waitScale: 0.2 });
  ({ stack, receiver } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: string, path: string, body?: unknown) => api(stack.url, method, path, { body, apiKey: stack.apiKey });
const get = async (id: string): Promise<Record<string, any>> => (await call('GET', `/v2/video/generations/${id}`)).json;
const hooksAt = (path: string) => receiver.received.filter((hook) => hook.path === path);

/** A generation whose webhook has failed twice (500, 500) and waits for its third attempt. */
async function failingTwice(path: string, moreFailures: number[] = []): Promise<{ id: string; pending: Record<string, any> }> {
  receiver.respondWith.push(500, 500, ...moreFailures);
  const created = await call('POST', '/v2/video/generations', {
    model: 'kling-video/v1.6/standard/text-to-video',
    prompt: 'A lighthouse in rain',
    callback_url: `${receiver.url}${path}`,
  });
  expect(created.status).toBe(200);
  const id: string = created.json.id;
  const pending = await waitFor(async () => {
    const json = await get(id);
    return json.callback.state === 'pending' && json.callback.attempts === 2 && json.callback.next_attempt_at ? json : undefined;
  }, 30_000);
  return { id, pending };
}

it('makes the next attempt at once when redeliver is called during a pending delivery', async () => {
  const { id, pending } = await failingTwice('/fixed');
  expect(pending.callback).toMatchObject({ last_status_code: 500, attempt_log: [{ result: 'failed', status_code: 500 }, { result: 'failed', status_code: 500 }] });
  const scheduledAt = Date.parse(pending.callback.next_attempt_at);

  // The receiver is fixed (its next answer is 200): retry now.
  const retried = await call('POST', `/v2/video/generations/${id}/redeliver`);
  expect(retried.status).toBe(202);
  expect(retried.json.callback.state).toBe('pending');

  const delivered = await waitFor(async () => {
    const json = await get(id);
    return json.callback.state === 'delivered' ? json : undefined;
  }, 30_000);
  expect(delivered.callback).toMatchObject({ state: 'delivered', attempts: 3, last_status_code: 200, next_attempt_at: null });
  const third = delivered.callback.attempt_log[2];
  expect(third).toMatchObject({ attempt: 3, trigger: 'retry_now', result: 'delivered', status_code: 200 });
  expect(Date.parse(third.at)).toBeLessThan(scheduledAt);

  const hooks = hooksAt('/fixed');
  expect(hooks).toHaveLength(3);
  expect(new Set(hooks.map((hook) => hook.headers['webhook-id']))).toEqual(new Set([`msg_${id.slice(4)}_completed`]));
  expect(new Webhook(stack.webhookSecret).verify(hooks[2]!.body, hooks[2]!.headers)).toMatchObject({ type: 'generation.completed', data: { id } });
});

it('goes on with the schedule after a retry-now attempt that fails', async () => {
  const { id, pending } = await failingTwice('/still-broken', [500]);
  const retried = await call('POST', `/v2/video/generations/${id}/redeliver`);
  expect(retried.status).toBe(202);

  const after = await waitFor(async () => {
    const json = await get(id);
    return json.callback.attempts === 3 && json.callback.attempt_log[2]?.result === 'failed' ? json : undefined;
  }, 30_000);
  expect(after.callback).toMatchObject({ state: 'pending', attempts: 3, last_status_code: 500 });
  expect(after.callback.attempt_log[2]).toMatchObject({ trigger: 'retry_now', status_code: 500, error: 'receiver answered 500' });
  // The attempt after a third failure is 30 min (here 6 min) after it: later than the one that was planned.
  expect(Date.parse(after.callback.next_attempt_at)).toBeGreaterThan(Date.parse(pending.callback.next_attempt_at));
  expect(Date.parse(after.callback.next_attempt_at) - Date.parse(after.callback.attempt_log[2].at)).toBeGreaterThanOrEqual(1800 * 0.2 * 1000);
  expect(hooksAt('/still-broken')).toHaveLength(3);
});
