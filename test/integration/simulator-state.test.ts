import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFaultDirectives } from '../../local/simulator/faults.js';
import { startProviderSimulator } from '../../local/simulator/server.js';
import { SimulatorStateFile } from '../../local/simulator/state-file.js';

const API_KEY = 'sim-state-key';
const V16 = 'kling-video/v1.6/standard/text-to-video';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sim-state-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

async function createJob(baseUrl: string, prompt: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v2/video/generations`, { method: 'POST', headers, body: JSON.stringify({ model: V16, prompt }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

async function statusOf(baseUrl: string, id: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${baseUrl}/v2/video/generations?generation_id=${id}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('the simulator with a state file', () => {
  it('answers after a restart for the jobs it accepted before, on the same port, faults included', async () => {
    const stateFile = join(workDir, 'restart.ndjson');
    const first = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0, stateFile });
    const plain = await createJob(first.baseUrl, 'a lighthouse');
    const failing = await createJob(first.baseUrl, 'a lighthouse [sim:status-error]');
    await first.close();

    const second = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0, stateFile });
    try {
      expect(second.baseUrl).toBe(first.baseUrl);
      const done = await statusOf(second.baseUrl, plain);
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id: plain, status: 'completed', video: { url: `${first.baseUrl}/files/${plain}/output.mp4` } });
      expect((await fetch(done.body.video.url)).status).toBe(200);
      expect((await statusOf(second.baseUrl, failing)).body).toMatchObject({ status: 'error', error: { name: 'GenerationError' } });
    } finally {
      await second.close();
    }
  });

  it('listens on another port when the previous one is taken', async () => {
    const stateFile = join(workDir, 'taken.ndjson');
    const first = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0, stateFile });
    const id = await createJob(first.baseUrl, 'a harbour');
    await first.close();
    const squatter = createServer();
    squatter.listen(Number(new URL(first.baseUrl).port), '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    const second = await startProviderSimulator({ apiKey: API_KEY, processingSeconds: 0, stateFile });
    try {
      expect(second.baseUrl).not.toBe(first.baseUrl);
      expect((await statusOf(second.baseUrl, id)).status).toBe(200);
    } finally {
      await second.close();
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('forgets generations older than a day, skips a torn last line and compacts the file', () => {
    const path = join(workDir, 'compact.ndjson');
    let now = Date.parse('2030-01-02T00:00:00Z');
    const file = new SimulatorStateFile(path, () => now);
    const directives = parseFaultDirectives('[sim:video-503*2]');
    file.recordPort(4321);
    file.recordGeneration({ id: 'old', model: V16, durationSeconds: 5, createdAtMs: now - 25 * 3600_000, directives: [] });
    file.recordGeneration({ id: 'recent', model: V16, durationSeconds: 10, createdAtMs: now - 3600_000, directives });
    appendFileSync(path, '{"type":"generation","id":"torn');

    now += 1;
    const state = file.load();
    expect(state.port).toBe(4321);
    expect(state.generations).toEqual([{ id: 'recent', model: V16, durationSeconds: 10, createdAtMs: now - 1 - 3600_000, directives }]);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(new SimulatorStateFile(path, () => now).load()).toEqual(state);
  });
});
