/**
 * Records never lie and steps are idempotent, against the real local stand-ins
 * (dynalite, s3rver, the provider simulator, a webhook receiver).
 *
 * The store's transitions are called out of order to show a state never goes backwards;
 * then a generation is walked through the step handlers by hand, each step run twice
 * (as a resumed execution runs it again after a crash), to show the second run changes
 * nothing: no second provider job, the same object, the first outcome, the same webhook.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurationHistory } from '#shared/polling/duration-history.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { newId } from '#shared/records/ids.js';
import { newGenerationItem, type CallbackInfo, type GenerationItem, type StoredVideo } from '#shared/records/record.js';
import type { DeliveryPlan, Notification, PollPlan } from '#shared/workflow/steps.js';
import { localS3ClientConfig } from '../../local/s3.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

type Step<I, O> = (event: I) => Promise<O>;
/** The copy also reads its remaining time from Lambda's context. */
type CopyStep = (event: { generation_id: string }, context: { getRemainingTimeInMillis(): number }) => Promise<StoredVideo>;
const COPY_CONTEXT = { getRemainingTimeInMillis: () => 900_000 };
interface Steps {
  create: Step<{ generation_id: string }, PollPlan>;
  status: Step<{ generation_id: string; poll: PollPlan }, PollPlan>;
  copy: CopyStep;
  record: Step<Record<string, unknown>, Notification>;
  notify: Step<{ generation_id: string; notification: Notification }, DeliveryPlan>;
}

let stack: LocalStack;
let receiver: WebhookReceiver;
let dataDir: string;
let store: GenerationStore;
let steps: Steps;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-steps-'));
  receiver = await startWebhookReceiver();
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.2 } });
  store = new GenerationStore(createDocumentClient(), stack.names.tableName);
  // The handlers read their configuration at import, so they are imported once the stack has set it.
  const load = async <T>(path: string): Promise<T> => ((await import(path)) as { handler: T }).handler;
  steps = {
    create: await load('../../functions/create/handler.js'),
    status: await load('../../functions/status/handler.js'),
    copy: await load('../../functions/copy/handler.js'),
    record: await load('../../functions/record/handler.js'),
    notify: await load('../../functions/notify/handler.js'),
  };
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A queued generation written straight to the table: no execution runs it, the test does. */
async function queuedGeneration(callbackPath: string): Promise<GenerationItem> {
  const now = new Date();
  const item = newGenerationItem({
    id: newId('gen', now.getTime()),
    owner: stack.keyId,
    now,
    request: {
      model: V16,
      prompt: 'A paper boat on a rainy street',
      params: { duration: 5 },
      metadata: {},
      callback_url: `${receiver.url}/${callbackPath}`,
      callback_events: ['generation.completed', 'generation.failed'],
      timeout_seconds: 3600,
    },
  });
  await store.create(item);
  return item;
}

const video = (id: string): StoredVideo => ({
  bucket: stack.names.bucketName,
  key: `videos/${id}.mp4`,
  s3_uri: `s3://${stack.names.bucketName}/videos/${id}.mp4`,
  size_bytes: 3,
  sha256: 'abc',
  content_type: 'video/mp4',
});

const callback = (item: GenerationItem, eventType: 'generation.completed' | 'generation.failed'): CallbackInfo => ({
  ...item.callback,
  state: 'pending',
  webhook_id: `msg_${eventType}`,
  event_type: eventType,
});

/** A later instant each call, so timeline order is checkable. */
let clock = Date.parse('2030-01-01T00:00:00Z');
const tick = (): string => new Date((clock += 1000)).toISOString();

describe('records never lie', () => {
  it('never moves a record backwards, whatever order the transitions arrive in', async () => {
    const item = await queuedGeneration('unused');
    expect(await store.markCompleted(item.id, video(item.id), callback(item, 'generation.completed'), tick())).toBeNull();

    const accepted = await store.markProviderAccepted(item.id, 'prov-1', 'queued', tick());
    expect(accepted).toMatchObject({ status: 'generating', provider: { generation_id: 'prov-1', status: 'queued' } });
    const beforePoll = await store.recordPoll(item.id, { providerStatus: 'completed', polls: 1, videoUrl: 'http://127.0.0.1:1/v.mp4', creditsUsed: 7 }, tick());
    expect(beforePoll).toEqual(accepted);
    expect(await store.get(item.id)).toMatchObject({ status: 'generating', provider_video_url: 'http://127.0.0.1:1/v.mp4' });
    const completed = await store.markCompleted(item.id, video(item.id), callback(item, 'generation.completed'), tick());
    expect(completed?.status).toBe('completed');

    // Late or repeated writes from a slow poll, a re-run step or a racing failure.
    expect(await store.recordPoll(item.id, { providerStatus: 'generating', polls: 2, videoUrl: null, creditsUsed: null }, tick())).toBeNull();
    expect(await store.markProviderAccepted(item.id, 'prov-2', 'queued', tick())).toBeNull();
    expect(await store.markFailed(item.id, { name: 'ProviderUnavailable', message: 'late' }, callback(item, 'generation.failed'), tick())).toBeNull();
    expect(await store.markCompleted(item.id, { ...video(item.id), sha256: 'other' }, callback(item, 'generation.completed'), tick())).toBeNull();

    const final = await store.get(item.id);
    expect(final).toEqual(completed);
    expect(final).toMatchObject({ status: 'completed', error: null, provider: { generation_id: 'prov-1', status: 'completed' }, polls: 1 });
    expect(final?.video?.sha256).toBe('abc');
    const { accepted: acceptedAt, provider_accepted, provider_done, completed: completedAt } = final!.timeline;
    expect([acceptedAt, provider_accepted, provider_done, completedAt].every((at) => typeof at === 'string')).toBe(true);
    expect(provider_accepted! < provider_done! && provider_done! < completedAt!).toBe(true);
    expect(final?.completed_at).toBe(completedAt);
  });

  it('keeps a failure recorded first: a later completion or poll does not replace it', async () => {
    const item = await queuedGeneration('unused');
    await store.markProviderAccepted(item.id, 'prov-3', 'queued', tick());
    const failed = await store.markFailed(item.id, { name: 'ProviderFailed', message: 'bad prompt' }, callback(item, 'generation.failed'), tick());
    expect(failed?.status).toBe('error');

    expect(await store.recordPoll(item.id, { providerStatus: 'completed', polls: 3, videoUrl: 'http://127.0.0.1:1/v.mp4', creditsUsed: 1 }, tick())).toBeNull();
    expect(await store.markCompleted(item.id, video(item.id), callback(item, 'generation.completed'), tick())).toBeNull();
    expect(await store.markFailed(item.id, { name: 'TimedOut', message: 'second' }, callback(item, 'generation.failed'), tick())).toBeNull();

    const final = await store.get(item.id);
    expect(final).toEqual(failed);
    expect(final).toMatchObject({ status: 'error', error: { name: 'ProviderFailed', message: 'bad prompt' }, video: null, provider_video_url: null });
    expect(final?.timeline.failed).toEqual(expect.any(String));
  });
});

describe('re-running a step has the effect of running it once', () => {
  it('walks a generation through every step twice: one provider job, one object, the first outcome, one webhook', async () => {
    const simulator = stack.simulator!;
    const item = await queuedGeneration('twice');
    const input = { generation_id: item.id };

    const createsBefore = simulator.counters.creates;
    const firstPlan = await steps.create(input);
    const afterCreate = await store.get(item.id);
    await steps.create(input);
    expect(simulator.counters.creates).toBe(createsBefore + 1);
    expect((await store.get(item.id))?.provider).toEqual(afterCreate?.provider);
    expect(afterCreate?.provider.generation_id).toEqual(expect.any(String));

    let plan = firstPlan;
    plan = await waitFor(async () => {
      plan = await steps.status({ ...input, poll: plan });
      return plan.status === 'completed' ? plan : undefined;
    }, 10_000, 20);
    // A re-run asks the provider once more (a status check carries no record read, so it
    // cannot know the answer was recorded), and learns the job's duration only once.
    const history = new DurationHistory(createDocumentClient(), stack.names.tableName);
    const learned = (await history.loadHistogram(item.model)).total;
    const polled = await store.get(item.id);
    const checksBefore = simulator.counters.statusChecks;
    expect((await steps.status({ ...input, poll: plan })).status).toBe('completed');
    expect(simulator.counters.statusChecks).toBe(checksBefore + 1);
    expect((await history.loadHistogram(item.model)).total).toBe(learned);
    expect((await store.get(item.id))?.provider_video_url).toBe(polled?.provider_video_url);

    const copied = await steps.copy(input, COPY_CONTEXT);
    const copiedAgain = await steps.copy(input, COPY_CONTEXT);
    expect(copiedAgain).toEqual(copied);
    const fixture = await readFile(join(import.meta.dirname, '../fixtures/sample.mp4'));
    expect(copied.sha256).toBe(createHash('sha256').update(fixture).digest('hex'));
    const s3 = new S3Client(localS3ClientConfig(stack.s3Endpoint));
    const object = await s3.send(new GetObjectCommand({ Bucket: copied.bucket, Key: copied.key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(fixture)).toBe(true);

    const notification = await steps.record({ ...input, outcome: 'completed', video: copied });
    const recorded = await store.get(item.id);
    const again = await steps.record({ ...input, outcome: 'completed', video: copied });
    const lateFailure = await steps.record({ ...input, outcome: 'error', failure: { Error: 'CopyFailed', Cause: '{"errorType":"CopyFailed","errorMessage":"late"}' } });
    expect(again).toEqual(notification);
    expect(lateFailure).toEqual(notification);
    expect(notification).toMatchObject({ outcome: 'completed', event_type: 'generation.completed' });
    const afterRecords = await store.get(item.id);
    expect(afterRecords?.status).toBe('completed');
    expect(afterRecords?.completed_at).toBe(recorded?.completed_at);
    expect(afterRecords?.video).toEqual(recorded?.video);

    // Once recorded, a resumed run's copy returns the recorded video and downloads nothing.
    const downloadsBefore = simulator.counters.downloads;
    expect(await steps.copy(input, COPY_CONTEXT)).toEqual(recorded?.video);
    expect(simulator.counters.downloads).toBe(downloadsBefore);

    expect(await steps.notify({ ...input, notification })).toEqual({ done: true });
    expect(await steps.notify({ ...input, notification })).toEqual({ done: true });
    const deliveries = receiver.received.filter((hook) => hook.path === '/twice');
    expect(deliveries).toHaveLength(1);
    const event = new Webhook(stack.webhookSecret).verify(deliveries[0]!.body, deliveries[0]!.headers) as Record<string, any>;
    expect(event).toMatchObject({ type: 'generation.completed', data: { id: item.id, status: 'completed' } });
    expect(deliveries[0]!.headers['webhook-id']).toBe(notification.webhook_id);
    expect((await store.get(item.id))?.callback).toMatchObject({ state: 'delivered', attempts: 1, last_status_code: 200 });

    // A resumed run's create after the outcome: no second provider job.
    await steps.create(input);
    expect(simulator.counters.creates).toBe(createsBefore + 1);
  });

  it('checks the job its plan carries (an older plan: the record’s), and ends with the record’s outcome after a cancel', async () => {
    const item = await queuedGeneration('carried');
    const input = { generation_id: item.id };
    const plan = await steps.create(input);
    const accepted = await store.get(item.id);
    expect(plan.job).toEqual({ id: accepted?.provider.generation_id, waited_for_slot: false });

    // A plan made before plans carried the job (a run in flight across an upgrade).
    const { job: _carried, ...older } = plan;
    const next = await steps.status({ ...input, poll: older });
    expect(next.job).toEqual(plan.job);

    await store.markFailed(item.id, { name: 'Cancelled', message: 'cancelled through the API' }, callback(item, 'generation.failed'), tick());
    await expect(steps.status({ ...input, poll: next })).rejects.toMatchObject({ name: 'Cancelled', message: 'cancelled through the API' });
  });

  it('sends a webhook again with the same webhook-id when notify runs again before it was delivered', async () => {
    const item = await queuedGeneration('retried');
    const input = { generation_id: item.id };
    await store.markProviderAccepted(item.id, 'prov-4', 'completed', tick());
    const notification = await steps.record({ ...input, outcome: 'error', failure: { Error: 'ProviderFailed', Cause: '{"errorType":"ProviderFailed","errorMessage":"no"}' } });
    receiver.respondWith.push(503);

    const first = await steps.notify({ ...input, notification });
    expect(first.done).toBe(false);
    expect((await store.get(item.id))?.callback).toMatchObject({ state: 'pending', attempts: 1, last_status_code: 503 });
    expect(await steps.notify({ ...input, notification })).toEqual({ done: true });

    const deliveries = receiver.received.filter((hook) => hook.path === '/retried');
    expect(deliveries).toHaveLength(2);
    expect(new Set(deliveries.map((hook) => hook.headers['webhook-id']))).toEqual(new Set([notification.webhook_id]));
    for (const delivery of deliveries) {
      expect(new Webhook(stack.webhookSecret).verify(delivery.body, delivery.headers)).toMatchObject({ type: 'generation.failed' });
    }
    expect((await store.get(item.id))?.callback).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('runs a finished generation\'s execution again from the start without a second effect', async () => {
    const simulator = stack.simulator!;
    const item = await queuedGeneration('rerun');
    // The input the API starts a generation's run with.
    const input = JSON.stringify({ generation_id: item.id, admission: { timeout_seconds: item.timeout_seconds } });
    const first = stack.engine.startExecution(item.id, input);
    const finished = await waitFor(async () => {
      const record = await store.get(item.id);
      return record?.callback.state === 'delivered' ? record : undefined;
    }, 15_000);
    await waitFor(() => (stack.engine.describeExecution(first.executionArn).status === 'RUNNING' ? undefined : true), 5_000);
    const counters = { ...simulator.counters };

    // What resumeInterrupted() does after a crash: the same input, from the first state.
    const rerun = stack.engine.startExecution(`${item.id}-rerun`, input);
    const outcome = await waitFor(() => {
      const execution = stack.engine.describeExecution(rerun.executionArn);
      return execution.status === 'RUNNING' ? undefined : execution;
    }, 15_000);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(simulator.counters.creates).toBe(counters.creates);
    expect(simulator.counters.downloads).toBe(counters.downloads);
    expect(await store.get(item.id)).toEqual(finished);
    expect(receiver.received.filter((hook) => hook.path === '/rerun')).toHaveLength(1);
  });
});
