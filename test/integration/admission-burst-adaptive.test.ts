/**
 * A burst above the provider's cap with nothing configured: the adaptive limit learns
 * the cap from the provider's 429s, and every generation still completes.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { generationsClient, SCENARIO_TIMEOUT_MS } from '../support/generations-client.js';

const CAP = 3;
const BURST = 24;
/** Jobs finish when reelhook has seen them finish: the provider's count and ours agree on any machine. */
const POLLS = 5;
/**
 * Polls 100–200 ms apart, so a job lasts half a second or more: the first four admitted
 * (the adaptive limit starts at 4, above the cap) are surely in flight together, however
 * fast or slow the machine; with no waits at all, a job could end before the fourth create.
 */
const WAIT_SCALE = 0.1;
vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
let fixture: StackFixture;
beforeAll(async () => {
  fixture = await startStackFixture('queue-adaptive', { waitScale: WAIT_SCALE, simulator: { concurrency: CAP, pollsToComplete: POLLS } });
});
afterAll(() => fixture?.close());

it('completes every generation of a burst with the adaptive default, learning the cap from 429s', async () => {
  const c = generationsClient(fixture);
  const ids = await Promise.all(Array.from({ length: BURST }, (_, i) => c.create(`adaptive ${i}`)));
  const done = await Promise.all(ids.map((id) => c.reaches(id)));
  expect(done.map((g) => g.status)).toEqual(ids.map(() => 'completed'));
  const simulator = fixture.stack.simulator!;
  const capacity = await c.capacity();
  expect(capacity).toMatchObject({ adaptive: true, in_use: 0, queued: 0 });
  // It met the cap (slow start grows past it) and settled near what the provider holds.
  expect(capacity.rate_limited).toBeGreaterThan(0);
  expect(capacity.limit).toBeLessThanOrEqual(CAP + 1);
  expect(simulator.counters.rejectedCreates).toBe(capacity.rate_limited);
  // Each 429 is one extra create, never a storm of them.
  expect(simulator.counters.creates).toBe(BURST + simulator.counters.rejectedCreates);
  expect(simulator.counters.rejectedCreates).toBeLessThanOrEqual(BURST / 2);
});
