/**
 * A burst above the provider's cap with the cap configured: the simulator answers 429
 * beyond 3 unfinished jobs, and reelhook never sends it a fourth; every generation
 * completes with exactly one create.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { generationsClient, SCENARIO_TIMEOUT_MS } from '../support/generations-client.js';

const CAP = 3;
const BURST = 24;
/** Jobs finish when reelhook has seen them finish: the provider's count and ours agree on any machine. */
const POLLS = 3;
vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
let fixture: StackFixture;
beforeAll(async () => {
  fixture = await startStackFixture('queue-configured', { providerConcurrency: CAP, simulator: { concurrency: CAP, pollsToComplete: POLLS } });
});
afterAll(() => fixture?.close());

it('completes every generation of a burst, never above the limit, one create each', async () => {
  const c = generationsClient(fixture);
  const ids = await Promise.all(Array.from({ length: BURST }, (_, i) => c.create(`burst ${i}`)));
  const done = await Promise.all(ids.map((id) => c.reaches(id)));
  expect(done.map((g) => g.status)).toEqual(ids.map(() => 'completed'));
  const simulator = fixture.stack.simulator!;
  expect(simulator.peakConcurrency()).toBeLessThanOrEqual(CAP);
  expect(simulator.counters.rejectedCreates).toBe(0);
  expect(simulator.counters.creates).toBe(BURST);
  expect(await c.capacity()).toMatchObject({ limit: CAP, adaptive: false, in_use: 0, queued: 0 });
});
