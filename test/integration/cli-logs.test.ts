/**
 * `reelhook logs <id>` against a local stack: through REELHOOK_URL, and through the
 * running stack of the data folder (found by its running-stack.json, with the key it
 * keeps there), plain, --json and --follow.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { generationHistorySchema } from '../../functions/api/schemas.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

/** Runs the CLI with stdout and stderr captured. */
async function reelhook(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let fixture: StackFixture;

async function startGeneration(prompt: string): Promise<string> {
  const { status, json } = await api(fixture.stack.url, 'POST', '/v2/video/generations', { apiKey: fixture.stack.apiKey, body: { model: V16, prompt } });
  expect(status).toBe(200);
  return json.id;
}

const runEnded = (id: string) =>
  waitFor(async () => {
    const { json } = await api(fixture.stack.url, 'GET', `/v2/video/generations/${id}/history`, { apiKey: fixture.stack.apiKey });
    return json.execution && json.execution.status !== 'RUNNING' ? json : undefined;
  }, 60_000, 100);

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  fixture = await startStackFixture('cli-logs');
});

afterEach(() => vi.unstubAllEnvs());
afterAll(() => fixture?.close());

describe('reelhook logs', () => {
  it('prints one line per state with its duration, and the retried status check with its error', async () => {
    const id = await startGeneration('a kite over dunes [sim:status-502*2]');
    await runEnded(id);
    vi.stubEnv('REELHOOK_URL', `${fixture.stack.url}/v2`);
    vi.stubEnv('REELHOOK_API_KEY', fixture.stack.apiKey);
    const { code, stdout, stderr } = await reelhook('logs', id);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${id}  started \\S+, \\d+ states$`));
    const retried = lines.filter((line) => line.includes('retries'));
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} Check Status\s+\d+(\.\d)? m?s {2}2 retries, last: ProviderUnavailable \(AI\/ML API GET .* answered 502/);
    expect(lines.some((line) => /^\d\d:\d\d:\d\d\.\d{3} Copy Video\s+\d+(\.\d)? m?s$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^run SUCCEEDED after \d/);
  });

  it('--json prints the history the API answers, reaching the running stack of the data folder without REELHOOK_URL', async () => {
    const id = await startGeneration('a quiet harbour');
    await runEnded(id);
    vi.stubEnv('REELHOOK_URL', '');
    vi.stubEnv('REELHOOK_API_KEY', '');
    vi.stubEnv('REELHOOK_DATA_DIR', fixture.dataDir);
    const { code, stdout } = await reelhook('logs', id, '--json');
    expect(code).toBe(0);
    const history = generationHistorySchema.parse(JSON.parse(stdout));
    expect(history.execution?.status).toBe('SUCCEEDED');
    expect(history.execution?.states.map((state) => state.name)).toContain('Copy Video');
  });

  it('--follow prints each state once, as it ends, until the run ends', async () => {
    vi.stubEnv('REELHOOK_URL', fixture.stack.url);
    vi.stubEnv('REELHOOK_API_KEY', fixture.stack.apiKey);
    const id = await startGeneration('a train at night [sim:status-502*1]');
    const { code, stdout } = await reelhook('logs', id, '--follow');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const ended = await runEnded(id);
    // Exactly the run's states, in order, then how it ended.
    expect(lines.slice(0, -1).map((line) => line.slice(13).split(/\s{2,}/)[0])).toEqual(ended.execution.states.map((state: { name: string }) => state.name));
    expect(lines.at(-1)).toMatch(/^run SUCCEEDED after/);
    expect(lines.filter((line) => line.includes('1 retry, last: ProviderUnavailable'))).toHaveLength(1);
  });

  it('says when the generation is not one of the key’s, and asks for the id', async () => {
    vi.stubEnv('REELHOOK_URL', fixture.stack.url);
    vi.stubEnv('REELHOOK_API_KEY', fixture.stack.apiKey);
    const missing = await reelhook('logs', 'gen_00000000000000000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/generation gen_0+ was not found/);
    const usage = await reelhook('logs');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: reelhook logs ID');
  });
});
