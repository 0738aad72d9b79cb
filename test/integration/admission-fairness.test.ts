/**
 * Fairness between API keys: one key's burst does not hold another key's single
 * generation back by more than about one slot turnover (round-robin between keys).
 * The whole queue is built behind a generation holding the only slot before that slot
 * frees, so the order the slots are handed out in is the queue's, on any machine.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { generationsClient, SCENARIO_TIMEOUT_MS } from '../support/generations-client.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
const BURST = 8;
let fixture: StackFixture;
beforeAll(async () => {
  // Waits scaled, not skipped: the generation holding the slot polls at a bounded rate.
  fixture = await startStackFixture('queue-fair', { providerConcurrency: 1, waitScale: 0.05, simulator: { processingSeconds: 0.3 } });
});
afterAll(() => fixture?.close());

it("serves another key's single generation within about one slot turnover of a burst", async () => {
  const burst = generationsClient(fixture);
  const other = await new ApiKeyStore(createDocumentClient(), fixture.stack.names.tableName).issue('the other team');
  const single = generationsClient(fixture, other.api_key);
  const blocker = await burst.create('holds the only slot [sim:status-never]', { timeout_seconds: 600 });
  await burst.reaches(blocker, 'generating');
  const ids: string[] = [];
  for (let i = 0; i < BURST; i += 1) ids.push(await burst.create(`burst ${i}`));
  const theirs = await single.create('just one');
  await burst.capacityWhen((capacity) => capacity.queued === BURST + 1);
  expect((await burst.call('DELETE', `/v2/video/generations/${blocker}`)).status).toBe(200);

  const all = await Promise.all([...ids.map((id) => burst.reaches(id)), single.reaches(theirs)]);
  expect(all.map((g) => g.status)).toEqual(all.map(() => 'completed'));
  const order = all
    .map((g) => ({ id: g.id as string, at: Date.parse(g.timeline.provider_accepted) }))
    .sort((a, b) => a.at - b.at)
    .map((g) => g.id);
  // The burst's key was served last (the blocker), so the freed slot goes to the other key.
  expect(order.indexOf(theirs)).toBe(0);
});
