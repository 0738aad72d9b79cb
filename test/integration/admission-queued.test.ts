/**
 * A generation waiting for a provider slot (limit 1, the slot held by a job that never
 * finishes): the record says why it waits, DELETE cancels it and its deadline ends it,
 * neither making a provider job; a stopped run (no Catch state runs) gives its slot back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { generationsClient, type GenerationsClient, SCENARIO_TIMEOUT_MS } from '../support/generations-client.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
let fixture: StackFixture;
let c: GenerationsClient;
beforeAll(async () => {
  fixture = await startStackFixture('queue-waiting', { providerConcurrency: 1, waitScale: 1, simulator: { processingSeconds: 0.3 } });
  c = generationsClient(fixture);
});
afterAll(() => fixture?.close());

/** Starts a generation that takes the only slot and never finishes at the provider. */
async function blockTheSlot(): Promise<string> {
  const blocker = await c.create('holds the only slot [sim:status-never]', { timeout_seconds: 600 });
  await c.reaches(blocker, 'generating');
  return blocker;
}

function stopRun(generationId: string): void {
  const engine = fixture.stack.engine;
  engine.stopExecution(`${engine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${generationId}`, 'Stopped', 'by the test');
}

describe('a queued generation', () => {
  it('shows why it waits, and is cancelled without ever reaching the provider', async () => {
    const blocker = await blockTheSlot();
    const creates = fixture.stack.simulator!.counters.creates;
    const queued = await c.create('waits behind it');
    const waiting = await c.when(queued, (g) => g.queue !== undefined);
    expect(waiting).toMatchObject({ status: 'queued', queue: { reason: 'provider_capacity', since: expect.any(String) } });
    expect(await c.capacity()).toMatchObject({ limit: 1, in_use: 1, queued: 1 });

    expect((await c.call('DELETE', `/v2/video/generations/${queued}`)).status).toBe(200);
    const cancelled = await c.reaches(queued);
    expect(cancelled.error).toMatchObject({ name: 'Cancelled' });
    expect(cancelled.queue).toBeUndefined();
    expect(await c.capacityWhen((cap) => cap.queued === 0)).toMatchObject({ in_use: 1 });
    expect(fixture.stack.simulator!.counters.creates).toBe(creates);

    stopRun(blocker);
    await c.capacityWhen((cap) => cap.in_use === 0);
  });

  it('ends TimedOut at its deadline, with no provider job made for it', async () => {
    const blocker = await blockTheSlot();
    const creates = fixture.stack.simulator!.counters.creates;
    const late = await c.create('never gets a slot', { timeout_seconds: 30 });
    const ended = await c.reaches(late);
    expect(ended.status).toBe('error');
    expect(ended.error).toMatchObject({ name: 'TimedOut', message: expect.stringMatching(/provider slot/) });
    expect(ended.provider.generation_id).toBeNull();
    expect(fixture.stack.simulator!.counters.creates).toBe(creates);
    await c.capacityWhen((cap) => cap.queued === 0);
    stopRun(blocker);
  });

  it('gets the slot a stopped run gave back', async () => {
    await c.capacityWhen((cap) => cap.in_use === 0);
    const next = await c.create('gets the freed slot');
    expect((await c.reaches(next)).status).toBe('completed');
  });
});
