/**
 * Fidelity of local mode: scenarios run on the local stack (the definition read out of
 * the synthesized template, the handlers' own code) until every state of that
 * definition has been entered at least once. The list of states comes from the
 * manifest, so a state added to infra/workflow.ts fails this test until a scenario
 * reaches it.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';

let fixture: StackFixture;
let stack: LocalStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  // One provider slot, so a generation can be made to wait for it (the queue's states); waits
  // scaled, not skipped, so the generation holding the slot polls at a bounded rate meanwhile.
  fixture = await startStackFixture('coverage', { providerConcurrency: 1, waitScale: 0.05 });
  ({ stack, receiver } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: string, path: string, body?: unknown) => api(stack.url, method, path, { body, apiKey: stack.apiKey });

/** Starts a generation and waits until it has ended and its webhook is settled. */
async function generate(prompt: string, path: string): Promise<Record<string, any>> {
  const created = await call('POST', '/v2/video/generations', {
    model: MODEL,
    prompt,
    duration: 5,
    callback_url: `${receiver.url}/${path}`,
  });
  expect(created.status, JSON.stringify(created.json)).toBe(200);
  return waitFor(async () => {
    const { json } = await call('GET', `/v2/video/generations/${created.json.id}`);
    const ended = json.status === 'completed' || json.status === 'error';
    return ended && ['delivered', 'failed'].includes(json.callback.state) ? json : undefined;
  }, 30_000);
}

/** Runs a scenario once per file run, whichever test asks first, so every test also runs alone (`-t`). */
function once<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= run());
}

const flakyWebhook = once(async () => {
  receiver.respondWith.push(500);
  return generate('A raccoon in a sequoia forest', 'flaky');
});

const providerError = once(() => generate('A storm over the sea [sim:status-error]', 'failed'));
const providerBusy = once(() => generate('A fox at dawn [sim:create-429*1]', 'busy'));

const scenarios = {
  flakyWebhook,
  providerError,
  providerBusy,
  queueTimedOut: once(async () => {
    // After the others, which would otherwise wait behind the blocker.
    await Promise.all([flakyWebhook(), providerError(), providerBusy()]);
    const blocker = await call('POST', '/v2/video/generations', { model: MODEL, prompt: 'Holds the slot [sim:status-never]', timeout_seconds: 600 });
    await waitFor(async () => ((await call('GET', `/v2/video/generations/${blocker.json.id}`)).json.status === 'generating' ? true : undefined), 30_000);
    const created = await call('POST', '/v2/video/generations', { model: MODEL, prompt: 'Never gets the slot', timeout_seconds: 30 });
    const ended = await waitFor(async () => {
      const { json } = await call('GET', `/v2/video/generations/${created.json.id}`);
      return json.status === 'error' ? json : undefined;
    }, 90_000);
    await call('DELETE', `/v2/video/generations/${blocker.json.id}`);
    return ended;
  }),
  deliveryOnly: once(async () => {
    const completed = await flakyWebhook();
    const sfn = new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL_SFN });
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.names.stateMachineArn,
        name: `${completed.id}-coverage`,
        input: JSON.stringify({
          generation_id: completed.id,
          // Not the recorded webhook id: notify settles at once without a second delivery.
          notification: { outcome: 'completed', event_type: 'generation.completed', webhook_id: 'msg_coverage' },
        }),
      }),
    );
    await stack.engine.idle();
    return stack.engine.listExecutions().find((candidate) => candidate.name === `${completed.id}-coverage`);
  }),
};

describe('state coverage of the deployed definition on the local engine', () => {
  it('completes a generation whose webhook fails once, then is delivered', async () => {
    const done = await scenarios.flakyWebhook();
    expect(done).toMatchObject({ status: 'completed', callback: { state: 'delivered', attempts: 2 } });
  });

  it('records a provider error and fails the generation', async () => {
    const done = await scenarios.providerError();
    expect(done).toMatchObject({ status: 'error', error: { name: 'ProviderFailed' }, callback: { state: 'delivered' } });
  });

  it('queues a generation again after a create 429, then completes it', async () => {
    expect(await scenarios.providerBusy()).toMatchObject({ status: 'completed', callback: { state: 'delivered' } });
  });

  it('ends a generation TimedOut while it waits for a provider slot', async () => {
    expect(await scenarios.queueTimedOut()).toMatchObject({ status: 'error', error: { name: 'TimedOut' }, provider: { generation_id: null } });
  }, 150_000);

  it('runs only the delivery loop for an execution started with a notification', async () => {
    const execution = await scenarios.deliveryOnly();
    expect(execution?.status).toBe('SUCCEEDED');
  });

  it('has entered every state of the definition at least once', async () => {
    await Promise.all(Object.values(scenarios).map((scenario) => scenario()));
    await stack.engine.idle();
    const entries = stack.engine.stateEntries();
    const states = Object.keys(stack.manifest.definition.States as Record<string, unknown>);
    console.table(states.map((state) => ({ state, entered: entries[state] ?? 0 })));
    expect(states.filter((state) => !entries[state])).toEqual([]);
  }, 150_000);
});
