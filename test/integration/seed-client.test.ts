/**
 * Compatibility with the AI/ML API: the seeds' own examples run against `reelhook dev`
 * with only their key and base URL read from the environment: the Python one
 * (test/fixtures/seed_client.py) otherwise unchanged, the JavaScript one
 * (test/fixtures/seed_client.cjs) with `require("https")` made `require("http")`, as
 * local mode serves plain HTTP. Both poll every 15 s by design.
 */
import { spawn, type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/http.js';

const REPO = resolve(import.meta.dirname, '../..');

/** The user's environment without local-mode or provider settings of this machine: the simulator answers. */
function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AWS_|REELHOOK_|AIMLAPI_|POWERTOOLS_)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { stdout: () => stdout, stderr: () => stderr };
}

let dataDir: string;
let dev: ChildProcess;
let devOutput: ReturnType<typeof collect>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-seed-'));
  dev = spawn(process.execPath, [join(REPO, 'bin/reelhook.mjs'), 'dev', '--port', '0'], {
    cwd: REPO,
    env: childEnvironment({ REELHOOK_DATA_DIR: dataDir, REELHOOK_SIMULATOR_SECONDS: '1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  devOutput = collect(dev);
});

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((resolvePromise) => dev.once('exit', resolvePromise));
    dev.kill('SIGTERM');
    await exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The banner's base URL and API key, once `reelhook dev` has printed them. */
async function devBanner(): Promise<{ baseUrl: string; apiKey: string }> {
  return waitFor(() => {
    if (dev.exitCode !== null) throw new Error(`reelhook dev exited: ${devOutput.stderr()}`);
    const text = devOutput.stdout();
    const baseUrl = /Base URL:\s+(\S+)/.exec(text)?.[1];
    const apiKey = /API key:\s+(\S+)/.exec(text)?.[1];
    return baseUrl && apiKey ? { baseUrl, apiKey } : undefined;
  }, 90_000, 100);
}

/** Runs one seed client against the running dev; resolves with its stdout once it exited 0. */
async function runSeedClient(command: string, script: string): Promise<string> {
  const banner = await devBanner();
  expect(banner.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2$/);
  const client = spawn(command, [join(REPO, 'test/fixtures', script)], {
    env: childEnvironment({ REELHOOK_API_KEY: banner.apiKey, REELHOOK_BASE_URL: banner.baseUrl }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(client);
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    client.once('error', reject);
    client.once('close', resolvePromise);
  });
  expect(code, output.stderr()).toBe(0);
  return output.stdout();
}

describe("the seeds' clients", () => {
  it('the Python one runs unchanged and ends with a completed generation and a video URL', async () => {
    const stdout = await runSeedClient(pythonWithRequests(), 'seed_client.py');
    expect(stdout).toMatch(/^Generation ID: +gen_\w+$/m);
    const result = stdout.slice(stdout.indexOf('Processing complete'));
    expect(result).toMatch(/^Processing complete:\n \{/);
    expect(result).toContain("'status': 'completed'");
    expect(result).toMatch(/'video': \{'url': 'http:\/\/[^']+'/);
  }, 150_000);

  it('the JavaScript one runs with http instead of https and ends with a completed generation and a video URL', async () => {
    const stdout = await runSeedClient(process.execPath, 'seed_client.cjs');
    expect(stdout).toMatch(/^Generation ID: gen_\w+$/m);
    const result = stdout.slice(stdout.indexOf('Processing complete'));
    expect(result).toMatch(/^Processing complete:\n \{/);
    expect(result).toContain("status: 'completed'");
    expect(result).toMatch(/video: \{\s+url: 'http:\/\/[^']+'/);
  }, 150_000);
});

/**
 * The seeds' example needs `requests`: the first Python that has it (on a fresh machine
 * .ci/run installs Debian's python3-requests, which /usr/bin/python3 sees even when
 * another python3 comes first on PATH).
 */
function pythonWithRequests(): string {
  const found = ['python3', '/usr/bin/python3'].find(
    (candidate) => spawnSync(candidate, ['-c', 'import requests'], { stdio: 'ignore' }).status === 0,
  );
  if (!found) throw new Error('no python3 with the requests package: apt-get install python3-requests');
  return found;
}
