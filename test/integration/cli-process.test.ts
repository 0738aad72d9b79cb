/**
 * The CLI as real processes: `reelhook dev` stops when the process that started it
 * goes away (npx → sh → node), and a second process on a data folder in use fails
 * with a message instead of dynalite's uncaught "Database is closed".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb } from '../../local/dynamodb.js';
import { ENDPOINTS_FILE } from '../../local/stack.js';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { waitFor } from '../support/http.js';

const BIN = join(import.meta.dirname, '../../bin/reelhook.mjs');
const ENV = { REELHOOK_WAIT_SCALE: '0' };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the CLI to completion (bounded), returning its exit code and output. */
function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`reelhook ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-cli-process-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('startLocalDynamoDb on a folder already open', () => {
  it('rejects with a lock error and leaves the first one working', async () => {
    const directory = join(dataDir, 'dynamo-lock');
    const first = await startLocalDynamoDb({ directory });
    try {
      await expect(startLocalDynamoDb({ directory })).rejects.toThrow(/lock/i);
      const client = new DynamoDBClient({ endpoint: first.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      client.destroy();
    } finally {
      await first.close();
    }
    // Released on close: the folder opens again.
    const again = await startLocalDynamoDb({ directory });
    await again.close();
  });
});

describe('a second process on a data folder in use', () => {
  let dev: DevProcess | undefined;
  const folder = (): string => join(dataDir, 'shared');
  afterEach(async () => {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill('SIGKILL');
      await dev.exited;
    }
  });

  it('generate and a second dev fail with the folder named, no uncaught trace', async () => {
    dev = await startDevProcess({ ...ENV, REELHOOK_DATA_DIR: folder() });
    const env = { REELHOOK_DATA_DIR: folder(), REELHOOK_URL: '' };
    for (const args of [['generate', 'a cat'], ['dev', '--port', '0']]) {
      const result = await runCli(args, env);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`another reelhook process is using ${folder()}`);
      expect(result.stderr).not.toMatch(/Database is closed|at .*dynalite/);
    }
    expect(dev.child.exitCode).toBeNull();
  });
});

describe('reelhook dev under a parent that does not forward signals', () => {
  let shell: ChildProcess | undefined;
  let devPid: number | undefined;
  afterEach(() => {
    if (devPid !== undefined && isAlive(devPid)) process.kill(devPid, 'SIGKILL');
    if (shell && shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
  });

  it('drains and exits when its parent shell is terminated, as after `kill -TERM <npx>`', async () => {
    const folder = join(dataDir, 'orphan');
    // `; true` keeps sh from exec'ing node, reproducing npm exec → sh → node.
    shell = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" dev --port 0 >"${join(dataDir, 'orphan.log')}" 2>&1; true`], {
      env: { ...process.env, ...ENV, REELHOOK_DATA_DIR: folder },
      stdio: 'ignore',
    });
    const running = await waitFor(async () => {
      const parsed = JSON.parse(await readFile(join(folder, ENDPOINTS_FILE), 'utf8')) as { pid: number; url?: string };
      return parsed.pid === shell!.pid ? undefined : parsed;
    }, 60_000, 100);
    devPid = running.pid;
    expect(isAlive(devPid)).toBe(true);

    shell.kill('SIGTERM');
    await waitFor(() => (isAlive(devPid!) ? undefined : true), 20_000, 100);
    const log = await readFile(join(dataDir, 'orphan.log'), 'utf8');
    expect(log).toContain('parent process exited: draining');
    expect(log).toContain('stopped: in-flight generations resume at the next start');
  });
});
