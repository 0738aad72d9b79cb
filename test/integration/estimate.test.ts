/**
 * The record's `estimate` on the local stack: once a few generations have taught the
 * model's provider durations, a running generation's record says when it should end;
 * a finished one says nothing, and webhooks never carry an estimate.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generationRecordSchema } from '../../functions/api/schemas.js';
import { generationsClient, SCENARIO_TIMEOUT_MS, SETTLE_MS, type GenerationsClient } from '../support/generations-client.js';
import { waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS, hookTimeout: SETTLE_MS });

/** Every simulated job takes this long; waits run at WAIT_SCALE, so polls stay few. */
const PROCESSING_SECONDS = 6;
const WAIT_SCALE = 0.02;
const TEACHERS = 3;

let fixture: StackFixture;
let client: GenerationsClient;

beforeAll(async () => {
  fixture = await startStackFixture('estimate', { waitScale: WAIT_SCALE, simulator: { processingSeconds: PROCESSING_SECONDS } });
  client = generationsClient(fixture);
});

afterAll(() => fixture?.close());

describe('the estimate of a running generation', () => {
  it('is learned from past durations while the provider works, and null once done', async () => {
    // Taught without reading any record, so no estimate is cached before the durations exist.
    const callback_url = `${fixture.receiver.url}/hooks`;
    const teachers = await Promise.all(Array.from({ length: TEACHERS }, (_, i) => client.create(`teacher ${i}`, { callback_url })));
    const completed = await waitFor(() => {
      const hooks = fixture.receiver.received.filter((hook) => hook.json?.type === 'generation.completed');
      return hooks.length === TEACHERS ? hooks : undefined;
    }, SETTLE_MS);
    expect(completed.map((hook) => hook.json.data.id).sort()).toEqual([...teachers].sort());
    for (const hook of completed) expect(hook.json.data).not.toHaveProperty('estimate');

    const id = await client.create('a slow generation');
    let askedAt = 0;
    const running = await waitFor(async () => {
      askedAt = Date.now();
      const generation = await client.get(id);
      return generation.status === 'generating' ? generation : undefined;
    }, SETTLE_MS, 20);
    expect(() => generationRecordSchema.parse(running)).not.toThrow();
    const { estimate } = running;
    expect(estimate).toMatchObject({ basis: 'learned', samples: TEACHERS });
    expect(Date.parse(estimate.completes_at)).toBeGreaterThan(askedAt);
    expect(estimate.remaining_seconds.p50).toBeGreaterThan(0);
    expect(estimate.remaining_seconds.p50).toBeLessThanOrEqual(estimate.remaining_seconds.p90);
    // What was learned: about PROCESSING_SECONDS per job, of which some has passed.
    expect(estimate.remaining_seconds.p90).toBeLessThan(PROCESSING_SECONDS * 2);
    expect(running.provider.polls).toEqual(expect.any(Number));

    const done = await client.reaches(id);
    expect(done.status).toBe('completed');
    expect(done.estimate).toBeNull();
    expect(done.provider.polls).toBeGreaterThan(0);
    const listed = (await client.call('GET', '/v2/video/generations?limit=10')).json;
    expect(listed.data.map((generation: { estimate: unknown }) => generation.estimate)).toEqual(Array(TEACHERS + 1).fill(null));
  });
});
