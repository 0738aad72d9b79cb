/**
 * `reelhook dev` SIGKILLed with generations both in flight at the provider and queued
 * behind its concurrency limit, then started again on the same data folder: every one
 * completes, the in-flight ones keep their provider job, and no slot or queue place is
 * left behind. The simulator runs in this process, as the real provider would outlive
 * reelhook's crash.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { api, waitFor } from '../support/http.js';
import { MODEL, SCENARIO_TIMEOUT_MS, SETTLE_MS } from '../support/generations-client.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS });
const SIMULATOR_KEY = 'sim-admission-restart-key';
const LIMIT = 3;
const GENERATIONS = 12;

let simulator: ProviderSimulator;
let dataDir: string;
const processes: DevProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-admission-restart-'));
  // Jobs long enough to be in flight at the crash; the cap as a real account's.
  simulator = await startProviderSimulator({ apiKey: SIMULATOR_KEY, processingSeconds: 2, concurrency: LIMIT });
});

afterAll(async () => {
  for (const dev of processes) if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
  await Promise.all(processes.map((dev) => dev.exited));
  await simulator?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function startDev(): Promise<DevProcess> {
  const dev = await startDevProcess({
    REELHOOK_DATA_DIR: dataDir,
    AIMLAPI_KEY: SIMULATOR_KEY,
    AIMLAPI_BASE_URL: simulator.baseUrl,
    REELHOOK_PROVIDER_CONCURRENCY: String(LIMIT),
    REELHOOK_WAIT_SCALE: '0.05',
    REELHOOK_POLL_FIRST_SECONDS: '1',
    REELHOOK_POLL_MIN_SECONDS: '1',
    REELHOOK_POLL_MAX_SECONDS: '2',
  });
  processes.push(dev);
  return dev;
}

const call = (dev: DevProcess, method: string, path: string, body?: unknown) => api(dev.url, method, path, { body, apiKey: dev.apiKey });
const records = (dev: DevProcess, ids: string[]) =>
  Promise.all(ids.map(async (id) => (await call(dev, 'GET', `/v2/video/generations/${id}`)).json as Record<string, any>));

it('loses no queued or in-flight generation to a SIGKILL, and leaks no slot', async () => {
  const first = await startDev();
  const ids = await Promise.all(
    Array.from({ length: GENERATIONS }, async (_, i) => {
      const created = await call(first, 'POST', '/v2/video/generations', { model: MODEL, prompt: `restart ${i}` });
      expect(created.status).toBe(200);
      return created.json.id as string;
    }),
  );
  // The limit's worth at the provider, the rest waiting for a slot: then the process dies.
  await waitFor(async () => {
    const now = await records(first, ids);
    const accepted = now.filter((g) => g.provider.generation_id).length;
    const queued = now.filter((g) => g.queue?.reason === 'provider_capacity').length;
    return accepted === LIMIT && queued === GENERATIONS - LIMIT ? true : undefined;
  }, SETTLE_MS);
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startDev();
  const done = await waitFor(async () => {
    const now = await records(second, ids);
    return now.every((g) => g.status === 'completed') ? now : undefined;
  }, SETTLE_MS, 200);
  expect(done.every((g) => g.queue === undefined && g.video !== null)).toBe(true);
  // One provider job each, except a submission the crash cut off, which the record shows.
  const repeated = done.filter((g) => g.timeline.submission_repeated).length;
  expect(simulator.counters.creates).toBe(GENERATIONS + repeated + simulator.counters.rejectedCreates);
  expect(simulator.counters.rejectedCreates).toBe(0);
  expect(simulator.peakConcurrency()).toBeLessThanOrEqual(LIMIT);
  const capacity = await waitFor(async () => {
    const { json } = await call(second, 'GET', '/v2/provider/capacity');
    return json.in_use === 0 && json.queued === 0 ? json : undefined;
  }, SETTLE_MS);
  expect(capacity).toMatchObject({ limit: LIMIT, adaptive: false });
});
