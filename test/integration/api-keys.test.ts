/**
 * `reelhook keys` as a user runs it (a child process), against the local store: while
 * `reelhook dev` serves the data folder (here: a stack in this test process, which
 * advertises itself in running-stack.json) and with no stack running at all. The keys
 * it makes are then used over real HTTP.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, hashApiKey } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { ENDPOINTS_FILE, startLocalStack, type LocalStack } from '../../local/stack.js';
import { api } from '../support/http.js';

const CLI = resolve(import.meta.dirname, '../../bin/reelhook.mjs');

/** The user's environment, minus what the local stack put into this process. */
function cliEnvironment(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AWS_|REELHOOK_|AIMLAPI_|POWERTOOLS_)/.test(name)) env[name] = value;
  }
  return { ...env, REELHOOK_DATA_DIR: dataDir };
}

function reelhook(dataDir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnvironment(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('reelhook keys while reelhook dev runs on the data folder', () => {
  let stack: LocalStack;
  let dataDir: string;

  beforeAll(async () => {
    process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
    dataDir = await mkdtemp(join(tmpdir(), 'reelhook-keys-'));
    stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 } });
  });

  afterAll(async () => {
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const keys = () => new ApiKeyStore(createDocumentClient(), stack.names.tableName);
  let teamA: { keyId: string; apiKey: string; secret: string };

  it('creates a key shown once with its webhook secret, stores only its hash, and the key works at once', async () => {
    const { code, stdout } = await reelhook(dataDir, 'keys', 'create', '--name', 'team a');
    expect(code).toBe(0);
    expect(stdout).toContain('not shown again');
    const keyId = /Created API key (key_\S+)/.exec(stdout)?.[1];
    const apiKey = /API key:\s+(rk_\S+)/.exec(stdout)?.[1];
    const secret = /Webhook secret:\s+(whsec_\S+)/.exec(stdout)?.[1];
    expect(keyId && apiKey && secret).toBeTruthy();
    teamA = { keyId: keyId!, apiKey: apiKey!, secret: secret! };

    const answer = await api(stack.url, 'GET', '/v2/video/generations', { apiKey });
    expect(answer.status).toBe(200);

    // Test-only full read of the table: no item holds the key itself, one is addressed by its hash.
    const { Items = [] } = await createDocumentClient().send(new ScanCommand({ TableName: stack.names.tableName }));
    expect(JSON.stringify(Items)).not.toContain(apiKey!);
    expect(Items.map((item) => item.pk)).toContain(`APIKEY#${hashApiKey(apiKey!)}`);
  });

  it('revokes a key: its very next request answers 401, and the listing shows when, never a secret', async () => {
    const created = JSON.parse((await reelhook(dataDir, 'keys', 'create', '--name', 'short lived', '--json')).stdout);
    // Used first, so an API that remembered successful checks would still let it in.
    expect((await api(stack.url, 'GET', '/v2/video/generations', { apiKey: created.api_key })).status).toBe(200);
    const revoked = await reelhook(dataDir, 'keys', 'revoke', created.key_id);
    expect(revoked.code).toBe(0);
    const answer = await api(stack.url, 'GET', '/v2/video/generations', { apiKey: created.api_key });
    expect(answer.status).toBe(401);
    expect(answer.json.error.name).toBe('Unauthorized');

    const list = await reelhook(dataDir, 'keys', 'list', '--json');
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(listed.map((key) => key.name)).toEqual(['local', 'team a', 'short lived']);
    for (const key of listed) expect(Object.keys(key).sort()).toEqual(['created_at', 'key_id', 'name', 'revoked_at']);
    expect(listed.find((key) => key.key_id === created.key_id)?.revoked_at).toEqual(expect.any(String));
    expect(listed.find((key) => key.key_id === teamA.keyId)?.revoked_at).toBeNull();
    expect(list.stdout).not.toMatch(/whsec_|rk_/);
  });

  it('rotates the webhook secret, keeping the previous one valid for 24 h', async () => {
    const before = Date.now();
    const rotated = await reelhook(dataDir, 'keys', 'rotate-secret', teamA.keyId, '--json');
    expect(rotated.code).toBe(0);
    const { webhook_secret: secret } = JSON.parse(rotated.stdout);
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(teamA.secret);
    const stored = await keys().getById(teamA.keyId);
    expect(stored).toMatchObject({ webhook_secret: secret, previous_webhook_secret: teamA.secret });
    const expiresIn = Date.parse(stored!.previous_webhook_secret_expires_at!) - before;
    expect(expiresIn).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(24 * 3600_000 + 60_000);
  });

  it('exits 1 naming an unknown key id', async () => {
    const unknown = await reelhook(dataDir, 'keys', 'revoke', 'key_doesnotexist');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key key_doesnotexist');
  });
});

describe('reelhook keys with no stack running', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelhook-keys-offline-'));
  });

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('opens the data folder itself, also past a stale running-stack.json, and keeps the keys there', async () => {
    const exited = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolvePromise) => exited.on('close', resolvePromise));
    await writeFile(join(dataDir, ENDPOINTS_FILE), JSON.stringify({ pid: exited.pid, url: 'http://127.0.0.1:9', dynamoDbEndpoint: 'http://127.0.0.1:9', tableName: 'reelhook' }));

    const created = await reelhook(dataDir, 'keys', 'create', '--name', 'offline', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { key_id: keyId } = JSON.parse(created.stdout);
    const listed = await reelhook(dataDir, 'keys', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ key_id: keyId, name: 'offline', revoked_at: null })]);
  });
});
