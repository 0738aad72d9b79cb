/**
 * Fairness between API keys: one key's burst does not hold another key's single
 * generation back by more than about one slot turnover (round-robin between keys).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { generationsClient, SCENARIO_TIMEOUT_MS } from '../support/generations-client.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
let fixture: StackFixture;
beforeAll(async () => {
  fixture = await startStackFixture('queue-fair', { providerConcurrency: 1, simulator: { processingSeconds: 0.3 } });
});
afterAll(() => fixture?.close());

it("serves another key's single generation within about one slot turnover of a burst", async () => {
  const burst = generationsClient(fixture);
  const other = await new ApiKeyStore(createDocumentClient(), fixture.stack.names.tableName).issue('the other team');
  const single = generationsClient(fixture, other.api_key);
  const ids: string[] = [];
  for (let i = 0; i < 8; i += 1) ids.push(await burst.create(`burst ${i}`));
  const theirs = await single.create('just one');
  const all = await Promise.all([...ids.map((id) => burst.reaches(id)), single.reaches(theirs)]);
  expect(all.map((g) => g.status)).toEqual(all.map(() => 'completed'));
  const order = all
    .map((g) => ({ id: g.id as string, at: Date.parse(g.timeline.provider_accepted) }))
    .sort((a, b) => a.at - b.at)
    .map((g) => g.id);
  // Round-robin: at most the slot in use and the next of the burst go before it.
  expect(order.indexOf(theirs)).toBeLessThanOrEqual(2);
});
