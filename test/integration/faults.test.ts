/**
 * The fault-injection suite: every fault mode of the provider simulator, through the
 * whole local stack (HTTP API → the synthesized state machine → handlers → dynalite,
 * s3rver → a real webhook receiver). Each generation must end in a truthful terminal
 * state: the right status and error name, a verified webhook, and S3 holding exactly
 * the video for a success and nothing for a failure. Transient faults (`*N`) recover.
 *
 * All generations start together and each test awaits its own, so the file costs about
 * as long as its slowest case.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { generationKey } from '#shared/records/record.js';
import { localS3ClientConfig } from '../../local/s3.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';
const TERMINAL_TIMEOUT_MS = 45_000;

type Expected =
  | { status: 'completed' }
  | { status: 'error'; error: string; message?: RegExp; providerStatus?: string };

interface FaultCase {
  /** The test name: the fault, then what reelhook does about it. */
  title: string;
  /** Simulator directives put in the prompt. */
  directives: string;
  expected: Expected;
  /**
   * Makes the deadline pass (the minimum timeout_seconds is 30 s): right after acceptance,
   * or once the provider has accepted the job.
   */
  expireDeadline?: 'accepted' | 'provider_accepted';
}

const COMPLETED: Expected = { status: 'completed' };

const CASES: FaultCase[] = [
  {
    title: 'create-400: ends in ProviderRejected with the provider message and no retry',
    // *1: a retry would be accepted and complete, so an error proves there was none.
    directives: '[sim:create-400*1]',
    expected: { status: 'error', error: 'ProviderRejected', message: /content policy/ },
  },
  {
    title: 'create-403: ends in ProviderRejected saying the account is out of credits, with no retry',
    directives: '[sim:create-403*1]',
    expected: { status: 'error', error: 'ProviderRejected', message: /out of credits/ },
  },
  {
    title: 'create-429 (transient): waits out Retry-After and completes',
    directives: '[sim:create-429*2]',
    expected: COMPLETED,
  },
  {
    // A 429 only ever queues the generation again; the deadline is what ends it.
    title: 'create-429 (persistent): waits queued until its deadline, then ends TimedOut, never ProviderUnavailable',
    directives: '[sim:create-429]',
    expected: { status: 'error', error: 'TimedOut', message: /capacity/ },
    expireDeadline: 'accepted',
  },
  {
    title: 'status-429 (persistent for a while): checks again after each Retry-After and completes, never failing',
    directives: '[sim:status-429*6]',
    expected: COMPLETED,
  },
  {
    title: 'create-500 (transient): retries with backoff and completes',
    directives: '[sim:create-500*2]',
    expected: COMPLETED,
  },
  {
    title: 'create-500 (persistent): ends in ProviderUnavailable once the retries are spent',
    directives: '[sim:create-500]',
    expected: { status: 'error', error: 'ProviderUnavailable', message: /500/ },
  },
  {
    title: 'status-502 (transient): retries the status check and completes',
    directives: '[sim:status-502*2]',
    expected: COMPLETED,
  },
  {
    title: 'status-502 (persistent): ends in ProviderUnavailable once the retries are spent',
    directives: '[sim:status-502]',
    expected: { status: 'error', error: 'ProviderUnavailable', message: /502/ },
  },
  {
    title: 'status-malformed (transient): retries the status check and completes',
    directives: '[sim:status-malformed*2]',
    expected: COMPLETED,
  },
  {
    title: 'status-malformed (persistent): ends in ProviderUnavailable once the retries are spent',
    directives: '[sim:status-malformed]',
    expected: { status: 'error', error: 'ProviderUnavailable', message: /invalid JSON/ },
  },
  {
    title: 'status-unknown: keeps polling through an unknown pending status and completes',
    directives: '[sim:status-unknown*3]',
    expected: COMPLETED,
  },
  {
    title: 'status-error: ends in ProviderFailed with the provider message',
    directives: '[sim:status-error]',
    expected: { status: 'error', error: 'ProviderFailed', message: /could not be generated/ },
  },
  {
    title: 'status-never: ends in TimedOut once the deadline passes',
    directives: '[sim:status-never]',
    expected: { status: 'error', error: 'TimedOut' },
    expireDeadline: 'provider_accepted',
  },
  {
    title: 'status-no-url (transient): re-checks a completed answer without a URL and completes',
    directives: '[sim:status-no-url*2]',
    expected: COMPLETED,
  },
  {
    title: 'status-no-url (persistent): ends in ProviderFailed after a few re-checks',
    directives: '[sim:status-no-url]',
    // The record shows what the provider last said, not the status before it.
    expected: { status: 'error', error: 'ProviderFailed', message: /no video URL/, providerStatus: 'completed' },
  },
  {
    title: 'video-503 (transient): retries the download and stores the exact video',
    directives: '[sim:video-503*2]',
    expected: COMPLETED,
  },
  {
    title: 'video-503 (persistent): ends in CopyFailed and stores nothing',
    directives: '[sim:video-503]',
    expected: { status: 'error', error: 'CopyFailed', message: /503/ },
  },
  {
    title: 'video-truncated (transient): resumes with Range and stores the exact video',
    directives: '[sim:video-truncated*1]',
    expected: COMPLETED,
  },
  {
    title: 'video-truncated (persistent): ends in CopyFailed and stores nothing',
    directives: '[sim:video-truncated]',
    expected: { status: 'error', error: 'CopyFailed', message: /ended after|connection lost/ },
  },
  {
    title: 'video-html: ends in InvalidVideo and stores nothing',
    directives: '[sim:video-html]',
    expected: { status: 'error', error: 'InvalidVideo', message: /text\/html/ },
  },
  {
    title: 'video-oversized: ends in InvalidVideo and stores nothing',
    directives: '[sim:video-oversized]',
    expected: { status: 'error', error: 'InvalidVideo', message: /over the limit/ },
  },
  {
    title: 'no fault: completes and stores the exact video',
    directives: '',
    expected: COMPLETED,
  },
];

let stack: LocalStack;
let receiver: WebhookReceiver;
let dataDir: string;
let s3: S3Client;
let store: GenerationStore;
let fixture: Buffer;
const generationIds = new Map<string, string>();

async function expireDeadline(id: string): Promise<void> {
  await createDocumentClient().send(
    new UpdateCommand({
      TableName: stack.names.tableName,
      Key: { pk: generationKey(id) },
      UpdateExpression: 'SET deadline_at = :past',
      ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
    }),
  );
}

async function startCase(fault: FaultCase, index: number): Promise<void> {
  const created = await api(stack.url, 'POST', '/v2/video/generations', {
    apiKey: stack.apiKey,
    body: {
      model: V16,
      prompt: `Fault case ${index}: a lighthouse in a storm ${fault.directives}`,
      duration: 5,
      callback_url: `${receiver.url}/case-${index}`,
    },
  });
  expect(created.status, fault.title).toBe(200);
  const id = created.json.id as string;
  generationIds.set(fault.title, id);
  if (fault.expireDeadline === 'provider_accepted') {
    await waitFor(async () => ((await store.get(id))?.provider.generation_id ? true : undefined), TERMINAL_TIMEOUT_MS);
  }
  if (fault.expireDeadline) await expireDeadline(id);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-faults-'));
  receiver = await startWebhookReceiver();
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 } });
  s3 = new S3Client(localS3ClientConfig(stack.s3Endpoint));
  store = new GenerationStore(createDocumentClient(), stack.names.tableName);
  fixture = await readFile(join(import.meta.dirname, '../fixtures/sample.mp4'));
  await Promise.all(CASES.map((fault, index) => startCase(fault, index)));
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function terminalRecord(id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { json } = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
    return json.status === 'completed' || json.status === 'error' ? json : undefined;
  }, TERMINAL_TIMEOUT_MS);
}

async function storedObject(id: string): Promise<Buffer | null> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.names.bucketName, Key: `videos/${id}.mp4` }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return null;
    throw error;
  }
}

async function assertNoObject(id: string): Promise<void> {
  await expect(s3.send(new HeadObjectCommand({ Bucket: stack.names.bucketName, Key: `videos/${id}.mp4` }))).rejects.toMatchObject({
    name: 'NotFound',
  });
  expect(await storedObject(id)).toBeNull();
}

describe('each simulator fault mode, through the whole stack', () => {
  for (const fault of CASES) {
    it(fault.title, async () => {
      const id = generationIds.get(fault.title)!;
      const record = await terminalRecord(id);
      const { expected } = fault;

      expect(record.status).toBe(expected.status);
      expect(record.completed_at).toEqual(expect.any(String));
      if (expected.status === 'completed') {
        expect(record.error).toBeNull();
        const sha256 = createHash('sha256').update(fixture).digest('hex');
        expect(record.video).toMatchObject({ sha256, size_bytes: fixture.length, content_type: 'video/mp4' });
        const stored = await storedObject(id);
        expect(stored?.equals(fixture)).toBe(true);
        expect(record.timeline).toEqual(
          expect.objectContaining({ accepted: expect.any(String), provider_accepted: expect.any(String), completed: expect.any(String) }),
        );
      } else {
        expect(record.video).toBeNull();
        expect(record.error.name).toBe(expected.error);
        if (expected.message) expect(record.error.message).toMatch(expected.message);
        if (expected.providerStatus) expect(record.provider.status).toBe(expected.providerStatus);
        expect(record.timeline.failed).toEqual(expect.any(String));
        await assertNoObject(id);
      }

      const delivery = await waitFor(() => receiver.received.find((hook) => hook.json?.data?.id === id), 15_000);
      const event = new Webhook(stack.webhookSecret).verify(delivery.body, delivery.headers) as Record<string, any>;
      expect(event.type).toBe(expected.status === 'completed' ? 'generation.completed' : 'generation.failed');
      expect(event.data).toMatchObject({ id, status: expected.status });
      if (expected.status === 'error') expect(event.data.error.name).toBe(expected.error);
      const settled = await waitFor(async () => {
        const { json } = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
        return json.callback.state === 'delivered' ? json : undefined;
      }, 15_000);
      expect(settled.callback.attempts).toBe(1);
    });
  }

  it('status-unknown: polls through "waiting" before completing', async () => {
    const id = generationIds.get('status-unknown: keeps polling through an unknown pending status and completes')!;
    await terminalRecord(id);
    const item = await store.get(id);
    // Three "waiting" answers, then at least the check that saw `completed`.
    expect(item?.polls).toBeGreaterThanOrEqual(4);
  });

  it('stores the provider id as soon as the provider accepted the job', async () => {
    for (const fault of CASES.filter((c) => !c.directives.startsWith('[sim:create-4'))) {
      const record = await terminalRecord(generationIds.get(fault.title)!);
      if (record.error?.name === 'ProviderUnavailable' && fault.directives.startsWith('[sim:create')) {
        expect(record.provider.generation_id).toBeNull();
      } else {
        expect(record.provider.generation_id, fault.title).toEqual(expect.any(String));
      }
    }
  });
});
