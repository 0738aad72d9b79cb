/**
 * `reelhook generate`'s progress when stderr is not a terminal (CI logs, pipes): plain
 * lines, one every few seconds with an ETA, while stdout stays the JSON answer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runGenerate } from '../../cli/generate.js';
import { PLAIN_INTERVAL_MS } from '../../cli/progress.js';
import { SCENARIO_TIMEOUT_MS, SETTLE_MS } from '../support/generations-client.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

vi.setConfig({ testTimeout: SCENARIO_TIMEOUT_MS, hookTimeout: SETTLE_MS });

/** Long enough for a few plain lines; at this wait scale the model's typical 186 s last 9.3 s. */
const PROCESSING_SECONDS = 12;
const WAIT_SCALE = 0.05;

let fixture: StackFixture;
let folder: string;

beforeAll(async () => {
  fixture = await startStackFixture('cli-progress', { waitScale: WAIT_SCALE, simulator: { processingSeconds: PROCESSING_SECONDS } });
  folder = await mkdtemp(join(tmpdir(), 'reelhook-cli-progress-'));
});

afterAll(async () => {
  await fixture?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const seconds = (clock: string): number => clock.split(':').reduce((total, part) => total * 60 + Number(part), 0);

describe('generate with stderr not a terminal', () => {
  it('prints a progress line with an ETA every few seconds, and JSON alone on stdout', async () => {
    vi.stubEnv('REELHOOK_URL', fixture.stack.url);
    vi.stubEnv('REELHOOK_API_KEY', fixture.stack.apiKey);
    const wasTTY = process.stderr.isTTY;
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    let code: number;
    try {
      code = await runGenerate(['a slow fox', '--json', '--out', join(folder, 'fox.mp4')]);
    } finally {
      out.mockRestore();
      err.mockRestore();
      Object.defineProperty(process.stderr, 'isTTY', { value: wasTTY, configurable: true });
      vi.unstubAllEnvs();
    }
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'completed', file: join(folder, 'fox.mp4') });
    expect(stderr).not.toContain('\r');
    expect(stderr).not.toContain('\x1b');

    const lines = stderr.split('\n').filter((line) => line.startsWith('['));
    const running = lines.filter((line) => / generating \(/.test(line));
    const withEta = running.filter((line) => / {2}ETA \d+:\d\d \(p90 \d+:\d\d, (default|learned)\) {2}polls \d+$/.test(line));
    expect(withEta.length, stderr).toBeGreaterThanOrEqual(2);
    // One line per phase change, else one per interval: never one per read (the CLI reads twice a second).
    const phase = (line: string) => /%\s+(.*?) {2}elapsed/.exec(line)?.[1];
    const elapsed = (line: string) => seconds(/elapsed (\d+:\d\d)/.exec(line)![1]!);
    for (let i = 1; i < running.length; i += 1) {
      if (phase(running[i]!) === phase(running[i - 1]!)) {
        expect(elapsed(running[i]!) - elapsed(running[i - 1]!)).toBeGreaterThanOrEqual(PLAIN_INTERVAL_MS / 1000 - 1);
      }
    }
    expect(lines.at(-1)).toMatch(/^\[#{20}\] 100% {2}completed {2}elapsed \d+:\d\d/);
  });
});
