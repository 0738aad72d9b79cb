/**
 * Local durability of `reelhook dev`, run as a child process on its own data folder:
 * SIGKILLed (twice) with more than 20 generations in flight and started again on the
 * same folder, it resumes every one of them to `completed` and delivers every webhook;
 * SIGTERM drains and exits 0 promptly, leaving its generations to the next start.
 *
 * The provider simulator runs in this test process, as the real provider would run
 * elsewhere: it outlives reelhook's crashes, and its counters show that a resumed
 * generation never makes a second provider job.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const V16 = 'kling-video/v1.6/standard/text-to-video';
const SIMULATOR_KEY = 'sim-durability-key';
// Budgets that still hold on a machine several times slower than a quiet one (a loaded CI
// runner); the counts the tests assert do not depend on them.
const STARTUP_TIMEOUT_MS = 90_000;
const COMPLETION_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 420_000;
/** Drain waits up to 10 s for running steps (local/stack.ts); the rest is exiting on a busy machine. */
const PROMPT_STOP_MS = 25_000;

interface DevServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** …/v2 */
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let simulator: ProviderSimulator;
let receiver: WebhookReceiver;
/** One data folder for the whole file, as a developer's `.reelhook/` lives across many runs. */
let dataDir: string;
const servers: DevServer[] = [];
/** The server a test left running, which the next one carries on with (starting is the slow part). */
let running: DevServer | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-durability-'));
  // Long enough that generations are still in flight when the test crashes reelhook.
  simulator = await startProviderSimulator({ apiKey: SIMULATOR_KEY, processingSeconds: 3 });
  receiver = await startWebhookReceiver();
});

async function stopAll(): Promise<void> {
  for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await Promise.all(servers.map((server) => server.exited));
}

afterAll(async () => {
  await stopAll();
  await simulator?.close();
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** `reelhook dev --port 0` on `dataDir`, once it has printed where it listens. */
async function startDev(): Promise<DevServer> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/reelhook.mjs'), 'dev', '--port', '0'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REELHOOK_DATA_DIR: dataDir,
      AIMLAPI_KEY: SIMULATOR_KEY,
      AIMLAPI_BASE_URL: simulator.baseUrl,
      // Waits and retries at a twentieth of their length; polls every 1–2 s scaled the same way.
      REELHOOK_WAIT_SCALE: '0.05',
      REELHOOK_POLL_FIRST_SECONDS: '1',
      REELHOOK_POLL_MIN_SECONDS: '1',
      REELHOOK_POLL_MAX_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const server = { child, output: () => stdout, exited } as DevServer;
  servers.push(server);
  const banner = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`reelhook dev exited with ${child.exitCode}: ${stderr}`);
    return stdout.includes('Press Ctrl+C to stop.') ? stdout : undefined;
  }, STARTUP_TIMEOUT_MS).catch((error: unknown) => {
    throw new Error(`${String(error)}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
  const field = (label: string): string => {
    const value = new RegExp(`${label}:\\s+(\\S+)`).exec(banner)?.[1];
    if (!value) throw new Error(`reelhook dev did not print its ${label}: ${banner}`);
    return value;
  };
  server.baseUrl = field('Base URL');
  server.apiKey = field('API key');
  server.webhookSecret = field('Webhook secret');
  return server;
}

async function startGenerations(server: DevServer, count: number, label: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const created = await api(server.baseUrl.replace(/\/v2$/, ''), 'POST', '/v2/video/generations', {
        apiKey: server.apiKey,
        body: { model: V16, prompt: `${label} ${index}: a fox crossing a frozen river`, callback_url: `${receiver.url}/${label}` },
      });
      expect(created.status).toBe(200);
      return created.json.id as string;
    }),
  );
}

async function records(server: DevServer, ids: string[]): Promise<Array<Record<string, any>>> {
  return Promise.all(
    ids.map(async (id) => {
      const { status, json } = await api(server.baseUrl.replace(/\/v2$/, ''), 'GET', `/v2/video/generations/${id}`, { apiKey: server.apiKey });
      expect(status).toBe(200);
      return json as Record<string, any>;
    }),
  );
}

/** Executions journaled as started and never ended: what a restart resumes. */
async function unendedExecutions(): Promise<string[]> {
  const entries = (await readFile(join(dataDir, 'executions.ndjson'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; arn: string; name?: string });
  const ended = new Set(entries.filter((entry) => entry.type === 'ended').map((entry) => entry.arn));
  return entries.filter((entry) => entry.type === 'started' && !ended.has(entry.arn)).map((entry) => entry.name ?? entry.arn);
}

async function kill(server: DevServer, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  server.child.kill(signal);
  return server.exited;
}

/** Verifies every webhook of `label`; returns the verified events grouped by generation id. */
function verifiedDeliveries(label: string, secret: string): Map<string, Array<{ webhookId: string; event: Record<string, any> }>> {
  const byGeneration = new Map<string, Array<{ webhookId: string; event: Record<string, any> }>>();
  const webhook = new Webhook(secret);
  for (const hook of receiver.received.filter((received: ReceivedWebhook) => received.path === `/${label}`)) {
    const event = webhook.verify(hook.body, hook.headers) as Record<string, any>;
    const list = byGeneration.get(event.data.id) ?? [];
    list.push({ webhookId: hook.headers['webhook-id']!, event });
    byGeneration.set(event.data.id, list);
  }
  return byGeneration;
}

describe('reelhook dev across crashes and restarts', () => {
  it('resumes every generation after SIGKILLs with 24 in flight: all complete and every webhook is delivered', async () => {
    const createsBefore = simulator.counters.creates;
    const first = await startDev();
    const ids = await startGenerations(first, 24, 'crash');
    // Every provider job recorded, none finished: then the process dies without warning.
    await waitFor(async () => ((await records(first, ids)).every((record) => record.provider.generation_id) ? true : undefined), COMPLETION_TIMEOUT_MS);
    expect((await kill(first, 'SIGKILL')).signal).toBe('SIGKILL');
    const inFlightAtFirstCrash = await unendedExecutions();
    expect(inFlightAtFirstCrash.length).toBeGreaterThanOrEqual(20);

    // Second crash part-way through: some copied or notified, others still polling.
    const second = await startDev();
    expect(second.output()).toMatch(/Resumed:\s+\d+ generation/);
    await waitFor(() => ((verifiedDeliveries('crash', second.webhookSecret).size >= 6) ? true : undefined), COMPLETION_TIMEOUT_MS, 10);
    await kill(second, 'SIGKILL');
    const inFlightAtSecondCrash = await unendedExecutions();
    expect(inFlightAtSecondCrash.length).toBeGreaterThan(0);

    const third = await startDev();
    running = third;
    const finished = await waitFor(async () => {
      const current = await records(third, ids);
      return current.every((record) => record.status === 'completed' && record.callback.state === 'delivered') ? current : undefined;
    }, COMPLETION_TIMEOUT_MS, 100);

    for (const record of finished) {
      expect(record.video).toMatchObject({ content_type: 'video/mp4', size_bytes: expect.any(Number), sha256: expect.any(String) });
      expect(record.error).toBeNull();
    }
    // One provider job per generation: resumed creates found their provider id recorded.
    expect(simulator.counters.creates - createsBefore).toBe(ids.length);
    expect(new Set(finished.map((record) => record.provider.generation_id)).size).toBe(ids.length);

    const deliveries = verifiedDeliveries('crash', third.webhookSecret);
    let duplicates = 0;
    for (const id of ids) {
      const received = deliveries.get(id) ?? [];
      expect(received.length, `webhooks for ${id}`).toBeGreaterThanOrEqual(1);
      // Redeliveries after a crash are allowed, always of the same event under the same webhook-id.
      expect(new Set(received.map((delivery) => delivery.webhookId)).size).toBe(1);
      expect(received.every((delivery) => delivery.event.type === 'generation.completed' && delivery.event.data.status === 'completed')).toBe(true);
      duplicates += received.length - 1;
      // Every request the receiver saw is counted (counted before it is sent, so one cut off
      // by a kill before it left can be counted too: at most one per crash).
      const { attempts } = finished.find((record) => record.id === id)!.callback;
      expect(attempts, `attempts of ${id}`).toBeGreaterThanOrEqual(received.length);
      expect(attempts, `attempts of ${id}`).toBeLessThanOrEqual(received.length + 2);
    }
    console.info(
      `crash test: ${inFlightAtFirstCrash.length} executions in flight at the first SIGKILL, ${inFlightAtSecondCrash.length} at the second; ${duplicates} duplicate webhook deliveries`,
    );
    expect(await unendedExecutions()).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('drains on SIGTERM: exits 0 promptly, leaves its generations in the journal, and the next start finishes them', async () => {
    const createsBefore = simulator.counters.creates;
    // Carry on with the server the test before left running; if it failed before it got
    // there, stop whatever it left behind so that this test has the data folder to itself.
    if (!running) await stopAll();
    const first = running ?? (await startDev());
    const ids = await startGenerations(first, 8, 'drain');
    await waitFor(async () => ((await records(first, ids)).every((record) => record.provider.generation_id) ? true : undefined), COMPLETION_TIMEOUT_MS);

    const signalledAt = Date.now();
    const exit = await kill(first, 'SIGTERM');
    const stopMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(PROMPT_STOP_MS);
    expect(first.output()).toContain('draining');
    expect(first.output()).toMatch(/stopped: in-flight generations resume at the next start/);
    // Nothing that had not ended was marked ended: the journal still holds every generation.
    expect((await unendedExecutions()).sort()).toEqual([...ids].sort());

    const second = await startDev();
    running = second;
    const finished = await waitFor(async () => {
      const current = await records(second, ids);
      return current.every((record) => record.status === 'completed' && record.callback.state === 'delivered') ? current : undefined;
    }, COMPLETION_TIMEOUT_MS, 100);
    expect(finished).toHaveLength(ids.length);
    expect(simulator.counters.creates - createsBefore).toBe(ids.length);
    const deliveries = verifiedDeliveries('drain', second.webhookSecret);
    for (const id of ids) expect(deliveries.get(id)?.[0]?.event.type).toBe('generation.completed');
    expect((await kill(second, 'SIGTERM')).code).toBe(0);
  }, TEST_TIMEOUT_MS);
});
