/**
 * The typed client (reelhook/client) against a running local stack over loopback, and the
 * package's "exports" proven from outside: a project that has reelhook in its node_modules
 * imports 'reelhook/client' from the built output, type-checks against its .d.ts and runs it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationRecordSchema } from '../../functions/api/schemas.js';
import { NotFound, Reelhook, ValidationError, verifyWebhook, WebhookVerificationError, type Generation } from '../../client/index.js';
import { REPO_ROOT } from '../../local/stack.js';
import { waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const run = promisify(execFile);
const V16 = 'kling-video/v1.6/standard/text-to-video';
const UNKNOWN_ID = 'gen_01JZZZZZZZZZZZZZZZZZZZZZZZ';

let fixture: StackFixture;
let reelhook: Reelhook;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  // A small wait scale: a generation held open by the simulator is polled every few hundred ms, not in a tight loop.
  fixture = await startStackFixture('client', { waitScale: 0.05 });
  // As `reelhook dev` prints it: with /v2.
  reelhook = new Reelhook({ baseUrl: `${fixture.stack.url}/v2`, apiKey: fixture.stack.apiKey });
});

afterAll(async () => {
  await fixture?.close();
});

describe('Reelhook against the local stack', () => {
  it('creates a generation and waits for it, reporting each change, until it is completed', async () => {
    const accepted = await reelhook.create({ model: V16, prompt: 'A red fox in fresh snow', duration: '5' });
    expect(accepted.status).toBe('queued');
    const seen: Generation[] = [];
    const done = await reelhook.wait(accepted.id, { pollIntervalMs: 50, onProgress: (record) => seen.push(record) });

    expect(done).toMatchObject({ id: accepted.id, status: 'completed', params: { duration: 5 }, video: { content_type: 'video/mp4' } });
    expect(generationRecordSchema.safeParse(done).success).toBe(true);
    expect(seen.at(-1)).toEqual(done);
    // Statuses only move forward, and no unchanged record is reported twice (a running record
    // changes without a new updated_at too: its estimate counts down at every read).
    const order = ['queued', 'generating', 'completed'];
    const ranks = seen.map((record) => order.indexOf(record.status));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(seen.map((record) => JSON.stringify(record))).size).toBe(seen.length);
  });

  it("reads a finished generation's run state by state through history", async () => {
    const accepted = await reelhook.create({ model: V16, prompt: 'A heron at dawn' });
    await reelhook.wait(accepted.id, { pollIntervalMs: 50 });
    const history = await reelhook.history(accepted.id);

    expect(history).toMatchObject({ generation_id: accepted.id, execution: { status: 'SUCCEEDED', truncated: false } });
    const names = history.execution!.states.map((state) => state.name);
    expect(names).toEqual(expect.arrayContaining(['Submit Generation', 'Check Status', 'Copy Video']));
    expect(history.execution!.states.every((state) => state.duration_ms !== null && state.duration_ms >= 0)).toBe(true);
    await expect(reelhook.history('gen_unknown')).rejects.toBeInstanceOf(NotFound);
  });

  it('lists page by page, and listAll walks every page', async () => {
    const created: string[] = [];
    for (const prompt of ['Page one', 'Page two', 'Page three']) created.push((await reelhook.create({ model: V16, prompt })).id);
    const first = await reelhook.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await reelhook.list({ limit: 2, cursor: first.next_cursor! });
    expect(second.data.map((record) => record.id)).not.toContain(first.data[0]!.id);

    const all: string[] = [];
    for await (const generation of reelhook.listAll({ limit: 2 })) all.push(generation.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining(created));
    // Newest first.
    expect(all.slice(0, 3)).toEqual([...created].reverse());
  });

  it('cancels a running generation: it ends error / Cancelled, and wait resolves with that record', async () => {
    // The simulator never finishes this one, so the cancel lands while it runs.
    const accepted = await reelhook.create({ model: V16, prompt: 'A slow pan [sim:status-never]' });
    const cancelled = await reelhook.cancel(accepted.id);
    expect(cancelled).toMatchObject({ id: accepted.id, status: 'error', error: { name: 'Cancelled' } });
    const done = await reelhook.wait(accepted.id, { pollIntervalMs: 50 });
    expect(done.error?.name).toBe('Cancelled');
  });

  it('throws NotFound for an unknown id, and a ValidationError naming the field for a bad body', async () => {
    const missing = await reelhook.get(UNKNOWN_ID).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(NotFound);
    expect(missing).toMatchObject({ status: 404, name: 'NotFound' });

    const invalid = await reelhook.create({ model: V16, prompt: 'A boat', camera_control: 'down_back' }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).status).toBe(400);
    expect((invalid as ValidationError).field).toBe('camera_control');
    expect((invalid as ValidationError).message).toContain('camera_control');
  });

  it('verifies a webhook the stack delivered, refuses it once its body is changed, and redelivers it', async () => {
    const accepted = await reelhook.create({ model: V16, prompt: 'A lighthouse at dusk', callback_url: `${fixture.receiver.url}/client-hook` });
    const delivered = await waitFor(
      () => fixture.receiver.received.find((hook) => hook.path === '/client-hook' && hook.json?.type === 'generation.completed'),
      30_000,
    );
    const event = verifyWebhook(delivered.body, delivered.headers, fixture.stack.webhookSecret);
    expect(event.type).toBe('generation.completed');
    expect(event.data.id).toBe(accepted.id);
    if (event.type === 'generation.completed') expect(event.data.video.s3_uri).toMatch(/^s3:\/\//);

    const tampered = delivered.body.replace('"completed"', '"error"');
    expect(() => verifyWebhook(tampered, delivered.headers, fixture.stack.webhookSecret)).toThrow(WebhookVerificationError);
    const redelivered = await reelhook.redeliver(accepted.id);
    expect(redelivered.callback.state).toBe('pending');
    await waitFor(() => (fixture.receiver.received.filter((hook) => hook.path === '/client-hook' && hook.json?.type === 'generation.completed').length >= 2 ? true : undefined), 30_000);
  });
});

/** A project outside the checkout with reelhook installed from it (node_modules/reelhook → the checkout). */
const CONSUMER_TS = `
import { NotFound, Reelhook, verifyWebhook, type Generation, type WebhookEvent } from 'reelhook/client';

export async function main(baseUrl: string, apiKey: string): Promise<Generation> {
  const reelhook = new Reelhook({ baseUrl, apiKey });
  // @ts-expect-error: not a model of the API
  void reelhook.create({ model: 'no-such-model', prompt: 'x' });
  // @ts-expect-error: the status filter takes the API's four values only
  void reelhook.list({ status: 'done' });
  const onEvent = (event: WebhookEvent): string | null => (event.type === 'generation.completed' ? event.data.video.url : null);
  void onEvent;
  void verifyWebhook;
  const accepted = await reelhook.create({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'From outside' });
  try {
    await reelhook.get('gen_01JZZZZZZZZZZZZZZZZZZZZZZZ');
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
  return reelhook.wait(accepted.id, { pollIntervalMs: 50 });
}
`;

const CONSUMER_MJS = `
import { NotFound, Reelhook } from 'reelhook/client';
const reelhook = new Reelhook({ baseUrl: process.env.BASE_URL, apiKey: process.env.API_KEY });
const accepted = await reelhook.create({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'From outside the checkout' });
const missing = await reelhook.get('gen_01JZZZZZZZZZZZZZZZZZZZZZZZ').catch((error) => error);
const done = await reelhook.wait(accepted.id, { pollIntervalMs: 50 });
process.stdout.write(JSON.stringify({ status: done.status, id: done.id, accepted: accepted.id, notFound: missing instanceof NotFound }));
`;

describe("the package's reelhook/client export", () => {
  let consumer: string;

  beforeAll(async () => {
    // The built output the exports point at (npm's prepare runs the same script).
    await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'client/tsconfig.json')], { cwd: REPO_ROOT });
    consumer = await mkdtemp(join(tmpdir(), 'reelhook-consumer-'));
    await mkdir(join(consumer, 'node_modules'));
    await symlink(REPO_ROOT, join(consumer, 'node_modules/reelhook'), 'dir');
    await symlink(join(REPO_ROOT, 'node_modules/@types'), join(consumer, 'node_modules/@types'), 'dir');
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'] }, files: ['main.ts'] }),
    );
    await writeFile(join(consumer, 'main.ts'), CONSUMER_TS);
    await writeFile(join(consumer, 'main.mjs'), CONSUMER_MJS);
  });

  afterAll(async () => {
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it("type-checks a user's TypeScript against the published declarations", async () => {
    // Fails on a missing or untyped export: the @ts-expect-error lines need real types to be errors.
    const result = await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], { cwd: consumer }).catch(
      (error: Error & { stdout?: string }) => ({ stdout: error.stdout || error.message }),
    );
    expect(result.stdout).toBe('');
  }, 180_000);

  it('runs from the built JavaScript against the stack', async () => {
    const { stdout } = await run(process.execPath, ['main.mjs'], {
      cwd: consumer,
      env: { ...process.env, BASE_URL: fixture.stack.url, API_KEY: fixture.stack.apiKey },
    });
    const result = JSON.parse(stdout) as { status: string; id: string; accepted: string; notFound: boolean };
    expect(result).toEqual({ status: 'completed', id: result.accepted, accepted: result.accepted, notFound: true });
  });
});
