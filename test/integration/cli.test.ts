/** The CLI's own behaviour (CONTRACT.md §5) that needs no running stack. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Reelhook } from '../../client/index.js';
import { checkOutPath, runGenerate } from '../../cli/generate.js';
import { awsSetupError, runKeys } from '../../cli/keys.js';
import { main } from '../../cli/main.js';
import { watchParent } from '../../cli/parent-watch.js';
import { UsageError, helpRequested } from '../../cli/usage.js';

/** Runs `action` with stdout and stderr captured. */
async function captured(action: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await action(), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A loopback HTTP server answering every request with `status` and `body`, recording request paths. */
async function stubServer(status: number, body: unknown): Promise<{ server: Server; url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    paths.push(request.url ?? '');
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe('per-command help', () => {
  it.each([
    [['generate', '--help'], 'reelhook generate "<prompt>"'],
    [['generate', 'a prompt', '-h'], 'reelhook generate "<prompt>"'],
    [['dev', '--help'], 'reelhook dev [--port 8787]'],
    [['keys', '--help'], 'reelhook keys create --name N'],
    [['keys', 'create', '--help'], 'reelhook keys create --name N'],
    [['keys', 'revoke', '--help'], 'reelhook keys revoke ID'],
    [['logs', '--help'], 'reelhook logs ID [--follow] [--json]'],
  ])('%j prints that usage and exits 0', async (argv, expected) => {
    const { code, stdout, stderr } = await captured(() => main(argv));
    expect(code).toBe(0);
    expect(stdout).toContain(expected);
    expect(stderr).toBe('');
  });

  it('does not treat arguments after -- as a help request', () => {
    expect(helpRequested(['--', '--help'])).toBe(false);
    expect(helpRequested(['x', '--help'])).toBe(true);
  });
});

describe('REELHOOK_URL', () => {
  it.each([
    ['', '/v2/video/generations/gen_1'],
    ['/', '/v2/video/generations/gen_1'],
    ['/v2', '/v2/video/generations/gen_1'],
    ['/v2/', '/v2/video/generations/gen_1'],
    ['/base/v2//', '/base/v2/video/generations/gen_1'],
  ])('with the base URL ending in "%s", the client asks for %s', async (suffix, expected) => {
    const stub = await stubServer(200, { id: 'gen_1', status: 'completed' });
    try {
      await new Reelhook({ baseUrl: `${stub.url}${suffix}`, apiKey: 'rk_x' }).get('gen_1');
      expect(stub.paths).toEqual([expected]);
    } finally {
      stub.server.close();
    }
  });

  it('a server that is not there is named in the error instead of "fetch failed"', async () => {
    const stub = await stubServer(200, {});
    const { url } = stub;
    await new Promise((resolve) => stub.server.close(resolve));
    await expect(new Reelhook({ baseUrl: url, apiKey: 'rk_x' }).get('gen_1')).rejects.toThrow(
      `could not reach the reelhook server at ${url} (ECONNREFUSED)`,
    );
  });
});

describe('generate errors', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'reelhook-cli-'));
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(folder, { recursive: true, force: true });
  });

  it('rejects an --out in a folder that does not exist, naming the path', async () => {
    const out = join(folder, 'missing', 'video.mp4');
    await expect(checkOutPath(out)).rejects.toThrow(UsageError);
    await expect(checkOutPath(out)).rejects.toThrow(`--out ${out}: the folder ${join(folder, 'missing')} does not exist`);
    await expect(checkOutPath(folder)).rejects.toThrow('is a folder');
    await expect(checkOutPath(join(folder, 'video.mp4'))).resolves.toBeUndefined();
  });

  it('checks --out before any request is made', async () => {
    const stub = await stubServer(500, {});
    vi.stubEnv('REELHOOK_URL', stub.url);
    vi.stubEnv('REELHOOK_API_KEY', 'rk_x');
    try {
      const { code, stderr } = await captured(() => main(['generate', 'a cat', '--out', join(folder, 'nope', 'x.mp4')]));
      expect(code).toBe(2);
      expect(stderr).toContain(`--out ${join(folder, 'nope', 'x.mp4')}`);
      expect(stub.paths).toEqual([]);
    } finally {
      stub.server.close();
    }
  });

  it('with --json, an API error is a JSON object on stdout and the human message on stderr', async () => {
    const stub = await stubServer(400, { error: { name: 'ValidationError', message: 'model: must be one of x' } });
    vi.stubEnv('REELHOOK_URL', `${stub.url}/v2/`);
    vi.stubEnv('REELHOOK_API_KEY', 'rk_x');
    try {
      const json = await captured(() => runGenerate(['a cat', '--json']));
      expect(JSON.parse(json.stdout)).toEqual({ error: { name: 'ValidationError', message: 'model: must be one of x' } });
      expect(json.stderr).toContain('error: ValidationError: model: must be one of x');
      const human = await captured(() => runGenerate(['a cat']));
      expect(human.stdout).toBe('');
      expect(json.code).toBe(2);
      expect(human.code).toBe(json.code);
      expect(stub.paths.every((path) => path === '/v2/video/generations')).toBe(true);
    } finally {
      stub.server.close();
    }
  });

  it('names the unreachable server through main', async () => {
    vi.stubEnv('REELHOOK_URL', 'http://127.0.0.1:1/v2');
    vi.stubEnv('REELHOOK_API_KEY', 'rk_x');
    const { code, stderr } = await captured(() => main(['generate', 'a cat']));
    expect(code).toBe(1);
    expect(stderr).toContain('could not reach the reelhook server at http://127.0.0.1:1 (');
    expect(stderr).not.toContain('fetch failed');
  });
});

describe('dev settings', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'reelhook-cli-dev-'));
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(folder, { recursive: true, force: true });
  });

  it('a malformed REELHOOK_API_KEY exits 2 with the key rule, never echoing the key, before anything starts', async () => {
    const apiKey = 'rk_not-a-key';
    vi.stubEnv('REELHOOK_DATA_DIR', join(folder, 'data'));
    vi.stubEnv('REELHOOK_API_KEY', apiKey);
    const { code, stdout, stderr } = await captured(() => main(['dev', '--port', '0']));
    expect(code).toBe(2);
    expect(stderr).toContain('reelhook: REELHOOK_API_KEY must be rk_ followed by letters, digits, _ or -, 16 to 255 characters in all');
    expect(stderr).not.toContain(apiKey);
    expect(stdout).toBe('');
    // Nothing started: the data folder was never made.
    expect(existsSync(join(folder, 'data'))).toBe(false);
  });

  it('a malformed REELHOOK_WEBHOOK_SECRET exits 2 the same way', async () => {
    vi.stubEnv('REELHOOK_DATA_DIR', join(folder, 'data'));
    vi.stubEnv('REELHOOK_API_KEY', `rk_${'A'.repeat(32)}`);
    vi.stubEnv('REELHOOK_WEBHOOK_SECRET', 'whsec_no pe');
    const { code, stderr } = await captured(() => main(['dev', '--port', '0']));
    expect(code).toBe(2);
    expect(stderr).toContain('reelhook: REELHOOK_WEBHOOK_SECRET must be a Standard Webhooks secret');
    expect(stderr).not.toContain('whsec_no pe');
  });
});

describe('flags are checked before anything starts', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'reelhook-cli-flags-'));
    vi.stubEnv('REELHOOK_DATA_DIR', join(folder, 'data'));
    vi.stubEnv('REELHOOK_URL', '');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(folder, { recursive: true, force: true });
  });

  it.each([
    [['generate', 'a cat', '--duration', '7'], '--duration: must be 5 or 10'],
    [['generate', 'a cat', '--cfg-scale', '2', '--aspect-ratio', '4:3'], '--aspect-ratio: must be one of 16:9, 9:16, 1:1'],
    [['generate', 'a cat', '--model', 'nope'], '--model: '],
    [['generate', '   '], 'the prompt: '],
    [['generate', 'a cat', '--force'], '--force only applies to --out FILE'],
    [['generate', 'a cat', '--bogus'], "Unknown option '--bogus'"],
    [['dev', '--port', 'x'], '--port must be an integer'],
    [['list', '--limit', '0'], '--limit must be a whole number from 1 to 100 (got "0")'],
    [['list', '--status', 'done'], '--status must be one of queued, generating, completed, error (got "done")'],
    [['list', 'extra'], 'list takes no arguments'],
    [['get'], 'usage: reelhook get ID'],
    [['get', 'gen_1', '--bogus'], "Unknown option '--bogus'"],
    [['cancel', 'gen_1', 'gen_2'], 'usage: reelhook cancel ID'],
    [['redeliver'], 'usage: reelhook redeliver ID'],
  ])('%j exits 2 naming the flag, with no data folder made', async (argv, expected) => {
    const { code, stdout, stderr } = await captured(() => main(argv));
    expect(stderr).toContain(expected);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(existsSync(join(folder, 'data'))).toBe(false);
  });

  it('refuses to overwrite an existing --out file unless --force', async () => {
    const out = join(folder, 'video.mp4');
    await writeFile(out, 'earlier video');
    const { code, stderr } = await captured(() => main(['generate', 'a cat', '--out', out]));
    expect(code).toBe(2);
    expect(stderr).toContain(`--out ${out} exists already; add --force to overwrite it`);
    expect(readFileSync(out, 'utf8')).toBe('earlier video');
    await expect(checkOutPath(out, true)).resolves.toBeUndefined();
  });
});

describe('generate --help and --version', () => {
  it('generate --help lists every model with its defaults, and the default model', async () => {
    const { code, stdout } = await captured(() => main(['generate', '--help']));
    expect(code).toBe(0);
    expect(stdout).toContain('kling-video/v1/standard/text-to-video\n');
    expect(stdout).toContain('kling-video/v1.6/standard/text-to-video (the default)');
    expect(stdout).toContain('defaults: duration 5, aspect_ratio 16:9');
    expect(stdout).toContain('camera_control');
  });

  it("--version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const { code, stdout } = await captured(() => main(['--version']));
    expect(code).toBe(0);
    expect(stdout).toBe(`reelhook ${version}\n`);
  });
});

describe('list, get, cancel, redeliver', () => {
  const record = {
    id: 'gen_abc',
    status: 'completed',
    model: 'kling-video/v1.6/standard/text-to-video',
    prompt: 'a cat\non a mat',
    created_at: '2026-12-03T08:00:00.000Z',
    completed_at: '2026-12-03T08:00:05.000Z',
    error: null,
    video: { url: 'http://127.0.0.1:1/v.mp4', s3_uri: 's3://b/k', size_bytes: 12, sha256: 'ab', content_type: 'video/mp4' },
    provider: { generation_id: 'p1', status: 'completed' },
    callback: { url: 'http://127.0.0.1:2/hook', state: 'delivered', attempts: 1, last_status_code: 200, next_attempt_at: null, attempt_log: [] },
  };
  let server: Server;
  let requests: string[];
  let folder: string;
  beforeEach(async () => {
    requests = [];
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url} ${request.headers.authorization}`);
      const body = /^\/v2\/video\/generations(\?|$)/.test(request.url ?? '') ? { data: [record], next_cursor: 'c1' } : record;
      response.writeHead(request.url?.endsWith('/gen_missing') ? 404 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(request.url?.endsWith('/gen_missing') ? { error: { name: 'NotFound', message: 'no generation gen_missing' } } : body));
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    vi.stubEnv('REELHOOK_URL', `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`);
    vi.stubEnv('REELHOOK_API_KEY', 'rk_x');
    folder = await mkdtemp(join(tmpdir(), 'reelhook-cli-list-'));
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    server.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('list prints a table with the status filter and limit sent, and says when more exist', async () => {
    const { code, stdout } = await captured(() => main(['list', '--status', 'completed', '--limit', '5']));
    expect(code).toBe(0);
    expect(requests).toEqual(['GET /v2/video/generations?status=completed&limit=5 Bearer rk_x']);
    const [header, row, more] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+MODEL\s+CREATED\s+PROMPT$/);
    expect(row).toMatch(/^gen_abc\s+completed\s+kling-video\/v1\.6\/standard\/text-to-video\s+2026-12-03T08:00:00\.000Z\s+a cat on a mat$/);
    expect(more).toContain('more exist');
  });

  it('list --json and get --json print the API answer as it came', async () => {
    const list = await captured(() => main(['list', '--json']));
    expect(JSON.parse(list.stdout)).toEqual({ data: [record], next_cursor: 'c1' });
    const get = await captured(() => main(['get', 'gen_abc', '--json']));
    expect(JSON.parse(get.stdout)).toEqual(record);
    expect(requests).toEqual(['GET /v2/video/generations Bearer rk_x', 'GET /v2/video/generations/gen_abc Bearer rk_x']);
  });

  it('get shows the video and the webhook; an unknown id is the API error, exit 1', async () => {
    const found = await captured(() => main(['get', 'gen_abc']));
    expect(found.stdout).toContain('stored      s3://b/k');
    expect(found.stdout).toContain('webhook     delivered to http://127.0.0.1:2/hook (1 attempt(s), last status 200)');
    const missing = await captured(() => main(['get', 'gen_missing']));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: NotFound: no generation gen_missing\n');
  });

  it('cancel sends DELETE and redeliver POSTs .../redeliver', async () => {
    expect((await captured(() => main(['cancel', 'gen_abc']))).stdout).toContain('Cancelled gen_abc');
    expect((await captured(() => main(['redeliver', 'gen_abc']))).stdout).toContain('Webhook of gen_abc to http://127.0.0.1:2/hook');
    expect(requests).toEqual(['DELETE /v2/video/generations/gen_abc Bearer rk_x', 'POST /v2/video/generations/gen_abc/redeliver Bearer rk_x']);
  });

  it('without REELHOOK_URL or a running dev, says that no server runs and how to start one', async () => {
    vi.stubEnv('REELHOOK_URL', '');
    vi.stubEnv('REELHOOK_DATA_DIR', join(folder, 'data'));
    for (const argv of [['list'], ['get', 'gen_abc'], ['cancel', 'gen_abc'], ['redeliver', 'gen_abc']]) {
      const { code, stderr } = await captured(() => main(argv));
      expect(code).toBe(1);
      expect(stderr).toContain(`no reelhook server is running for the data folder ${join(folder, 'data')}: start one with \`npx reelhook dev\``);
    }
    expect(existsSync(join(folder, 'data'))).toBe(false);
    expect(requests).toEqual([]);
  });
});

describe('keys --stack', () => {
  it('rejects an empty stack name before touching AWS', async () => {
    await expect(runKeys(['list', '--stack', ''])).rejects.toThrow(UsageError);
    await expect(runKeys(['list', '--stack', '  '])).rejects.toThrow('--stack needs the name');
  });

  it('explains a missing region, naming --stack and AWS_REGION', () => {
    const mapped = awsSetupError(new Error('Region is missing'), 'prod');
    expect(mapped.message).toMatch(/^--stack prod .*no AWS region.*AWS_REGION/);
    expect(mapped.cause).toBeInstanceOf(Error);
  });

  it('explains missing credentials, naming --stack and how to provide them', () => {
    const sdkError = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const mapped = awsSetupError(sdkError, 'prod');
    expect(mapped.message).toMatch(/^--stack prod .*no AWS credentials.*AWS_PROFILE.*AWS_ACCESS_KEY_ID/);
  });

  it('passes other errors through unchanged', () => {
    const other = Object.assign(new Error('Stack with id prod does not exist'), { name: 'ValidationError' });
    expect(awsSetupError(other, 'prod')).toBe(other);
  });
});

describe('watchParent', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls back once the parent pid changes, and not before', () => {
    vi.useFakeTimers();
    let parent = 4242;
    const orphaned = vi.fn();
    watchParent(orphaned, 100, () => parent);
    vi.advanceTimersByTime(1_000);
    expect(orphaned).not.toHaveBeenCalled();
    parent = 1;
    vi.advanceTimersByTime(100);
    vi.advanceTimersByTime(1_000);
    expect(orphaned).toHaveBeenCalledTimes(1);
  });

  it('watches nothing when started by init', () => {
    vi.useFakeTimers();
    let parent = 1;
    const orphaned = vi.fn();
    watchParent(orphaned, 100, () => parent);
    parent = 7;
    vi.advanceTimersByTime(1_000);
    expect(orphaned).not.toHaveBeenCalled();
  });

  it('stops watching when told to', () => {
    vi.useFakeTimers();
    let parent = 4242;
    const orphaned = vi.fn();
    const stop = watchParent(orphaned, 100, () => parent);
    stop();
    parent = 1;
    vi.advanceTimersByTime(1_000);
    expect(orphaned).not.toHaveBeenCalled();
  });
});
