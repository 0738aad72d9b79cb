/**
 * The CLI as real processes: `reelhook dev` stops when the process that started it
 * goes away (npx → sh → node); a second dev on a data folder in use fails with a
 * message instead of dynalite's uncaught "Database is closed", while `generate`, `list`,
 * `get` and `cancel` go through the running dev; Ctrl+C during `generate` says what
 * becomes of the generation; a port in use gets a hint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
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

/** The CLI running, with its output so far (stdout and stderr together). */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Starts `generate` on a prompt the simulator never finishes, and sends Ctrl+C once it is accepted. */
async function interruptedGenerate(env: NodeJS.ProcessEnv): Promise<{ id: string; code: number | null; output: string }> {
  const run = spawnCli(['generate', 'a cat that takes forever [sim:status-never]'], env);
  try {
    const id = await waitFor(() => {
      if (run.child.exitCode !== null) throw new Error(`generate exited early:\n${run.output()}`);
      return /generation (gen_\S+) accepted/.exec(run.output())?.[1];
    }, 60_000, 100);
    run.child.kill('SIGINT');
    const code = await run.exited;
    return { id, code, output: run.output() };
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
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

describe('with reelhook dev running on the data folder', () => {
  let dev: DevProcess;
  const folder = (): string => join(dataDir, 'shared');
  // What a second shell has: the same data folder, no REELHOOK_URL, no key.
  const shell = (): NodeJS.ProcessEnv => ({ REELHOOK_DATA_DIR: folder(), REELHOOK_URL: '', REELHOOK_API_KEY: '' });
  beforeAll(async () => {
    dev = await startDevProcess({ ...ENV, REELHOOK_DATA_DIR: folder() });
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill('SIGKILL');
      await dev.exited;
    }
  });

  it('prints the export line for other shells and a sign-in link with the key in the fragment', () => {
    expect(dev.output()).toContain(`  export REELHOOK_URL=${dev.url}/v2 REELHOOK_API_KEY=${dev.apiKey}\n`);
    expect(dev.output()).toContain(`  Sign-in link:    ${dev.url}/#key=${dev.apiKey}\n`);
  });

  it('a second dev fails with the folder named, no uncaught trace', async () => {
    const result = await runCli(['dev', '--port', '0'], shell());
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`another reelhook process is using ${folder()}`);
    expect(result.stderr).not.toMatch(/Database is closed|at .*dynalite/);
    expect(dev.child.exitCode).toBeNull();
  });

  it('generate completes through it, and list and get show the generation', async () => {
    const out = join(dataDir, 'through-dev.mp4');
    const result = await runCli(['generate', 'a cat through dev', '--out', out, '--json'], shell());
    expect(result.code, result.stderr).toBe(0);
    const generation = JSON.parse(result.stdout) as { id: string; status: string };
    expect(generation.status).toBe('completed');
    expect(existsSync(out)).toBe(true);
    // The record is dev's own: its API serves it with its key.
    const direct = await fetch(`${dev.url}/v2/video/generations/${generation.id}`, { headers: { authorization: `Bearer ${dev.apiKey}` } });
    expect(((await direct.json()) as { status: string }).status).toBe('completed');

    const get = await runCli(['get', generation.id, '--json'], shell());
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ id: generation.id, status: 'completed' });
    const list = await runCli(['list', '--status', 'completed'], shell());
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${generation.id}\\s+completed\\s`, 'm'));
    const cancel = await runCli(['cancel', generation.id], shell());
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('error: Conflict: ');
    expect(dev.child.exitCode).toBeNull();
  });

  it('Ctrl+C during generate says the generation keeps running on dev; cancel then ends it', async () => {
    const { id, code, output } = await interruptedGenerate(shell());
    expect(code).toBe(130);
    expect(output).toContain(`interrupted: generation ${id} keeps running on ${dev.url}; see it with \`reelhook get ${id}\``);
    const running = await runCli(['get', id, '--json'], shell());
    expect(JSON.parse(running.stdout)).toMatchObject({ id, status: 'generating' });
    const cancel = await runCli(['cancel', id], shell());
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`Cancelled ${id}`);
  });
});

describe('generate on its own stack', () => {
  let resumedDev: DevProcess | undefined;
  afterEach(async () => {
    if (resumedDev && resumedDev.child.exitCode === null) {
      resumedDev.child.kill('SIGKILL');
      await resumedDev.exited;
    }
  });

  it('Ctrl+C says the generation resumes at the next start on the data folder, and it does', async () => {
    const folder = join(dataDir, 'interrupted');
    const { id, code, output } = await interruptedGenerate({ REELHOOK_DATA_DIR: folder, REELHOOK_URL: '', REELHOOK_API_KEY: '' });
    expect(code).toBe(130);
    expect(output).toContain(`interrupted: generation ${id} is kept in ${folder} and resumes at the next \`reelhook dev\` or \`reelhook generate\` on that data folder`);
    resumedDev = await startDevProcess({ ...ENV, REELHOOK_DATA_DIR: folder, REELHOOK_API_KEY: '' });
    expect(resumedDev.output()).toContain('Resumed:         1 generation(s) that were in flight');
    const cancel = await runCli(['cancel', id], { REELHOOK_DATA_DIR: folder, REELHOOK_URL: '', REELHOOK_API_KEY: '' });
    expect(cancel.code, cancel.stderr).toBe(0);
  });
});

describe('reelhook dev --port on a port in use', () => {
  let taken: Server | undefined;
  afterEach(() => taken?.close());

  it('fails with one line that says to use another --port', async () => {
    taken = createServer();
    taken.listen(0, '127.0.0.1');
    await new Promise((resolve) => taken!.once('listening', resolve));
    const port = (taken.address() as { port: number }).port;
    const result = await runCli(['dev', '--port', String(port)], { REELHOOK_DATA_DIR: join(dataDir, 'port-in-use') });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`reelhook: port ${port} is in use already: start dev on another one with --port (e.g. --port ${port + 1}, or --port 0 for any free port)\n`);
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
