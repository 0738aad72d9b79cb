/**
 * End to end through `reelhook dev` (a child process: HTTP API, the state machine in the
 * local engine, the handlers, dynalite, s3rver, the simulator), against the bare
 * pipeline (bare-pipeline.ts) doing the same I/O per generation.
 *
 * Completion is what the callers see: the signed `generation.completed` webhook, caught
 * by a receiver in this process for both systems.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, type CreateTableInput } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startLocalDynamoDb } from '../local/dynamodb.js';
import type { BarePipelineSpec } from './bare-pipeline.js';
import { LoadClient } from './load-client.js';
import { WebhookReceiver } from './webhook-counter.js';
import { cpuSecondsOf, peakRssMbOf, startChild, startTsChild } from './processes.js';

export const E2E = {
  generations: 1000,
  /** As many as a POST burst, so the bursts are measured on warm code and open connections. */
  warmup: 100,
  postBursts: 3,
  postConcurrency: 100,
  simulatorSeconds: 1,
  videoBytes: 1024 * 1024,
  /** Longest wait for a batch's webhooks before the bench gives up. */
  batchTimeoutMs: 6 * 60_000,
} as const;

export interface E2eResult {
  reelhookSeconds: number;
  bareSeconds: number;
  reelhookRate: number;
  bareRate: number;
  /** POSTs of the bursts sent while a batch runs. */
  postLatenciesMs: number[];
  /** Generations of that batch not completed yet when each burst started. */
  inFlightAtBursts: number[];
  /** POSTs sent again after a stale keep-alive connection (bench/load-client.ts); their latency includes both tries. */
  postsResent: number;
  devPeakRssMb: number | null;
  /** CPU seconds per generation of the measured batch (whole process), unaffected by other load on the machine. */
  reelhookCpuMsPerGeneration: number | null;
  bareCpuMsPerGeneration: number;
  statusChecksPerGeneration: number;
  bareStatusGetsPerGeneration: number;
  historyWritesPerGeneration: number;
}

interface DevServer {
  baseUrl: string;
  apiKey: string;
}

async function postGeneration(client: LoadClient, dev: DevServer, callbackUrl: string, index: number): Promise<{ id: string; ms: number }> {
  const { status, body, ms } = await client.postJson(
    `${dev.baseUrl}/video/generations`,
    { authorization: `Bearer ${dev.apiKey}` },
    {
      model: 'kling-video/v1.6/standard/text-to-video',
      prompt: `A cheerful white raccoon running through a sequoia forest, take ${index}`,
      duration: '5',
      aspect_ratio: '16:9',
      callback_url: callbackUrl,
    },
  );
  const id = (body as { id?: unknown }).id;
  if (status !== 200 || typeof id !== 'string') throw new Error(`POST answered ${status}: ${JSON.stringify(body)}`);
  return { id, ms };
}

/** Every generation record in the dev stack's table, read after it stopped (its data folder is then free). */
async function readRecords(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const dynamo = await startLocalDynamoDb({ directory: join(dataDir, 'dynamodb') });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const db = createDocumentClient(client);
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: 'reelhook', ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

/**
 * `devDir`: the dev stack's data folder (REELHOOK_DATA_DIR); the bench synthesizes the
 * template into it beforehand, so `reelhook dev` starts without synthesizing again.
 */
export async function measureE2e(table: Omit<CreateTableInput, 'TableName'>, devDir: string): Promise<E2eResult> {
  const receiver = new WebhookReceiver();
  await receiver.start();
  const client = new LoadClient(E2E.generations);
  const dataDir = await mkdtemp(join(tmpdir(), 'reelhook-bench-e2e-'));
  try {
    // reelhook dev, as a user starts it; the rate limit is a tenant policy, off so it does not pace the bench.
    const dev = startChild(process.execPath, ['bin/reelhook.mjs', 'dev', '--port', '0'], {
      ...process.env,
      REELHOOK_WAIT_SCALE: '0',
      REELHOOK_SIMULATOR_SECONDS: String(E2E.simulatorSeconds),
      REELHOOK_SIMULATOR_VIDEO_BYTES: String(E2E.videoBytes),
      REELHOOK_DATA_DIR: devDir,
      REELHOOK_RATE_LIMIT_PER_MINUTE: '0',
      AIMLAPI_KEY: '',
      REELHOOK_API_KEY: '',
      REELHOOK_WEBHOOK_SECRET: '',
    });
    let devPeakRssMb: number | null;
    let postLatenciesMs: number[] = [];
    const inFlightAtBursts: number[] = [];
    let batch: string[] = [];
    let reelhookSeconds: number;
    let reelhookCpuSeconds: number | null = null;
    try {
      const [, baseUrl = ''] = await dev.line(/Base URL:\s+(\S+)/, 300_000);
      const [, apiKey = ''] = await dev.line(/API key:\s+(\S+)/);
      const server = { baseUrl, apiKey };
      let index = 0;
      const post = () => postGeneration(client, server, receiver.url, (index += 1));

      const warmup = await Promise.all(Array.from({ length: E2E.warmup }, post));
      await receiver.allOf(warmup.map((g) => g.id), E2E.batchTimeoutMs);

      // POST latency while the stack is busy: bursts sent while a batch of E2E.generations runs.
      const loaded = (await Promise.all(Array.from({ length: E2E.generations }, post))).map((g) => g.id);
      const inFlight = new Set(loaded);
      for (let burst = 0; burst < E2E.postBursts; burst += 1) {
        inFlightAtBursts.push([...inFlight].filter((id) => !receiver.completed.has(id)).length);
        const posted = await Promise.all(Array.from({ length: E2E.postConcurrency }, post));
        postLatenciesMs = postLatenciesMs.concat(posted.map((g) => g.ms));
        for (const g of posted) inFlight.add(g.id);
      }
      await receiver.allOf(inFlight, E2E.batchTimeoutMs);

      const cpuBefore = cpuSecondsOf(dev.process.pid ?? -1);
      const started = Date.now();
      batch = (await Promise.all(Array.from({ length: E2E.generations }, post))).map((g) => g.id);
      reelhookSeconds = ((await receiver.allOf(batch, E2E.batchTimeoutMs)) - started) / 1000;
      const cpuAfter = cpuSecondsOf(dev.process.pid ?? -1);
      if (cpuBefore !== null && cpuAfter !== null) reelhookCpuSeconds = cpuAfter - cpuBefore;
      devPeakRssMb = peakRssMbOf(dev.process.pid ?? -1);
    } catch (error) {
      // A failed POST says only InternalError, as the API must; the cause is in the server's log.
      const logged = await dev.line(/"level":"ERROR".*/, 0).then(([line]) => line, () => '(no error logged)');
      throw new Error(`${(error as Error).message}\nreelhook dev logged: ${logged}`, { cause: error });
    } finally {
      await dev.stop(60_000);
    }

    const records = await readRecords(devDir);
    const byId = new Map(records.filter((r) => String(r.pk).startsWith('GEN#')).map((r) => [String(r.id), r]));
    const polls = batch.map((id) => {
      const record = byId.get(id);
      if (record?.status !== 'completed') throw new Error(`generation ${id} is ${String(record?.status)} in the table, not completed`);
      return Number(record.polls ?? 0);
    });
    const historyWrites = records
      .filter((r) => String(r.pk).startsWith('MODELSTATS#'))
      .reduce((sum, r) => sum + Number(r.total ?? 0), 0);
    const allGenerations = byId.size;
    const historyWritesPerGeneration = allGenerations > 0 ? historyWrites / allGenerations : 0;

    // The bare pipeline, same receiver, same polls per generation.
    const specFile = join(dataDir, 'bare-spec.json');
    const spec: BarePipelineSpec = {
      dataDir: join(dataDir, 'bare'),
      table,
      webhookUrl: receiver.url,
      warmup: E2E.warmup,
      polls,
      historyWrites: historyWritesPerGeneration >= 0.5 ? 1 : 0,
      simulatorSeconds: E2E.simulatorSeconds,
      videoBytes: E2E.videoBytes,
    };
    await writeFile(specFile, JSON.stringify(spec));
    const bare = startTsChild('bench/bare-pipeline.ts', [specFile]);
    let bareSeconds: number;
    let bareStatusGetsPerGeneration: number;
    let bareCpuSeconds: number;
    try {
      const [, startedAt = '0'] = await bare.line(/^batch-start (\d+)$/, 300_000);
      const bareIds = polls.map((_, i) => `bare_${i}`);
      bareSeconds = ((await receiver.allOf(bareIds, E2E.batchTimeoutMs)) - Number(startedAt)) / 1000;
      const bareResult = await bare.result<{ statusGetsPerGeneration: number; cpuSeconds: number }>(E2E.batchTimeoutMs);
      bareStatusGetsPerGeneration = bareResult.statusGetsPerGeneration;
      bareCpuSeconds = bareResult.cpuSeconds;
    } finally {
      await bare.stop();
    }

    return {
      reelhookSeconds,
      bareSeconds,
      reelhookRate: E2E.generations / reelhookSeconds,
      bareRate: E2E.generations / bareSeconds,
      postLatenciesMs,
      inFlightAtBursts,
      postsResent: client.resent,
      devPeakRssMb,
      reelhookCpuMsPerGeneration: reelhookCpuSeconds === null ? null : (1000 * reelhookCpuSeconds) / E2E.generations,
      bareCpuMsPerGeneration: (1000 * bareCpuSeconds) / E2E.generations,
      statusChecksPerGeneration: polls.reduce((a, b) => a + b, 0) / polls.length,
      bareStatusGetsPerGeneration,
      historyWritesPerGeneration,
    };
  } finally {
    client.close();
    receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
