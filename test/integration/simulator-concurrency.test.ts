import { afterEach, describe, expect, it } from 'vitest';
import { type ProviderSimulator, startProviderSimulator } from '../../local/simulator/server.js';

const API_KEY = 'sim-cap-key-19ad';
const AUTH = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
const V16 = 'kling-video/v1.6/standard/text-to-video';

let simulator: ProviderSimulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

function create(prompt: string): Promise<Response> {
  return fetch(`${simulator!.baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({ model: V16, prompt }),
  });
}

describe('simulator concurrency cap', () => {
  it('answers 429 with Retry-After while the cap is reached, and accepts again once a job finishes', async () => {
    simulator = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0.4, concurrency: 2 });
    expect((await create('a')).status).toBe(200);
    expect((await create('b')).status).toBe(200);
    const rejected = await create('c');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toBe('1');
    expect(simulator.counters.rejectedCreates).toBe(1);
    // Bounded by count: the first jobs finish 0.4 s after creation.
    let accepted = false;
    for (let attempt = 0; attempt < 200 && !accepted; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      accepted = (await create('c')).status === 200;
    }
    expect(accepted).toBe(true);
    expect(simulator.peakConcurrency()).toBe(2);
  });

  it('counts a job whose status is an error as finished at once', async () => {
    simulator = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 60, concurrency: 1 });
    expect((await create('broken [sim:status-error]')).status).toBe(200);
    expect((await create('next')).status).toBe(200);
    expect((await create('third')).status).toBe(429);
  });

  it('has no cap unless one is given', async () => {
    simulator = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 60 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => create(`p${i}`)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });
});
