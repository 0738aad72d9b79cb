/**
 * One provider-queue scenario in its own process (a local stack configures the process
 * environment, so each scenario gets a fresh one): the simulator caps its account at
 * `cap` concurrent jobs of `jobSeconds` each and answers 429 beyond; a burst of
 * `generations` is POSTed at once; then a second API key submits one generation.
 * With `--unloaded`, first `cap` generations run alone (no queue), for the per-generation
 * figures the burst is compared with. Prints `result {…}` (QueueBurstResult).
 *
 * Usage: tsx bench/queue-burst.ts <configured|adaptive> <generations> <cap> <jobSeconds> <waitScale> [--unloaded]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { LoadClient } from './load-client.js';
import { WebhookReceiver } from './webhook-counter.js';

export interface PhaseResult {
  generations: number;
  completed: number;
  /** First POST to the last `completed` timeline entry. */
  seconds: number;
  /** Mean of provider_accepted → provider_done: how long a slot is held per job. */
  meanSlotSeconds: number;
  transitionsPerGeneration: number;
  createsPerGeneration: number;
  rejectedCreates: number;
  peakConcurrency: number;
  repeatedSubmissions: number;
}

export interface QueueBurstResult {
  mode: 'configured' | 'adaptive';
  cap: number;
  jobSeconds: number;
  unloaded: PhaseResult | null;
  burst: PhaseResult;
  /** The second key's generation: accepted → provider_accepted. */
  otherKeyWaitSeconds: number;
  /** The limit at the end (what the adaptive default learned). */
  finalLimit: number;
}

const [mode = 'configured', generationsArg = '500', capArg = '10', jobArg = '4', scaleArg = '0.05', ...flags] = process.argv.slice(2);
const GENERATIONS = Number(generationsArg);
const CAP = Number(capArg);
const JOB_SECONDS = Number(jobArg);
const COMPLETION_TIMEOUT_MS = 20 * 60_000;

/** The fields of a stored generation the figures are made of. */
interface GenerationRecord {
  id: string;
  status: string;
  timeline: Partial<Record<'accepted' | 'provider_accepted' | 'provider_done' | 'completed' | 'submission_repeated', string>>;
}

async function post(client: LoadClient, stack: LocalStack, apiKey: string, callbackUrl: string, prompt: string): Promise<string> {
  const { status, body } = await client.postJson(
    `${stack.url}/v2/video/generations`,
    { authorization: `Bearer ${apiKey}` },
    { model: 'kling-video/v1.6/standard/text-to-video', prompt, callback_url: callbackUrl },
  );
  const id = (body as { id?: unknown }).id;
  if (status !== 200 || typeof id !== 'string') throw new Error(`POST answered ${status}: ${JSON.stringify(body)}`);
  return id;
}

async function records(stack: LocalStack, ids: string[]): Promise<GenerationRecord[]> {
  const wanted = new Set(ids);
  const db = createDocumentClient();
  const items: GenerationRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: stack.names.tableName, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as GenerationRecord[]).filter((item) => wanted.has(item.id)));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const seconds = (from: string | undefined, to: string | undefined) => (Date.parse(to ?? '') - Date.parse(from ?? '')) / 1000;
const totalEntries = (stack: LocalStack) => Object.values(stack.engine.stateEntries()).reduce((a, b) => a + b, 0);

async function phase(stack: LocalStack, client: LoadClient, receiver: WebhookReceiver, count: number, label: string): Promise<{ result: PhaseResult; ids: string[] }> {
  const simulator = stack.simulator!;
  const before = { entries: totalEntries(stack), creates: simulator.counters.creates, rejected: simulator.counters.rejectedCreates };
  const startedAt = Date.now();
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => post(client, stack, stack.apiKey, receiver.url, `${label} ${i}: a fox crossing a frozen river`)));
  await receiver.allOf(ids, COMPLETION_TIMEOUT_MS);
  const done = await records(stack, ids);
  const completed = done.filter((g) => g.status === 'completed');
  const lastCompleted = Math.max(...completed.map((g) => Date.parse(g.timeline.completed ?? '')));
  return {
    ids,
    result: {
      generations: count,
      completed: completed.length,
      seconds: (lastCompleted - startedAt) / 1000,
      meanSlotSeconds: completed.reduce((sum, g) => sum + seconds(g.timeline.provider_accepted, g.timeline.provider_done), 0) / completed.length,
      transitionsPerGeneration: (totalEntries(stack) - before.entries) / count,
      createsPerGeneration: (simulator.counters.creates - before.creates) / count,
      rejectedCreates: simulator.counters.rejectedCreates - before.rejected,
      peakConcurrency: simulator.peakConcurrency(),
      repeatedSubmissions: done.filter((g) => g.timeline.submission_repeated).length,
    },
  };
}

const dataDir = await mkdtemp(join(tmpdir(), `reelhook-bench-queue-${mode}-`));
const receiver = new WebhookReceiver();
await receiver.start();
const stack = await startLocalStack({
  dataDir,
  waitScale: Number(scaleArg),
  providerConcurrency: mode === 'configured' ? CAP : undefined,
  simulator: { processingSeconds: JOB_SECONDS, concurrency: CAP, videoSizeBytes: 64 * 1024 },
});
const client = new LoadClient(100);
const capacity = async () =>
  (await (await fetch(`${stack.url}/v2/provider/capacity`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { limit: number; queued: number };
try {
  const unloaded = flags.includes('--unloaded') ? (await phase(stack, client, receiver, CAP, 'unloaded')).result : null;
  // The second key's single generation goes in once the whole burst is queued.
  const other = await new ApiKeyStore(createDocumentClient(), stack.names.tableName).issue('bench: the other team');
  const burstRun = phase(stack, client, receiver, GENERATIONS, 'burst');
  const otherId = await (async () => {
    while ((await capacity()).queued < GENERATIONS - 2 * CAP) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return post(client, stack, other.api_key, receiver.url, 'the other team: one lighthouse at dusk');
  })();
  const burst = (await burstRun).result;
  await receiver.allOf([otherId], COMPLETION_TIMEOUT_MS);
  const [theirs] = await records(stack, [otherId]);
  const { limit: finalLimit } = await capacity();
  const result: QueueBurstResult = {
    mode: mode as QueueBurstResult['mode'],
    cap: CAP,
    jobSeconds: JOB_SECONDS,
    unloaded,
    burst,
    otherKeyWaitSeconds: seconds(theirs?.timeline.accepted, theirs?.timeline.provider_accepted),
    finalLimit,
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
} finally {
  client.close();
  await stack.close();
  receiver.close();
  await rm(dataDir, { recursive: true, force: true });
}
