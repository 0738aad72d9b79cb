/**
 * Video URLs outlive the process that handed them out (issue 20, item 6): a URL from
 * `generate --json` (its own embedded stack) and one from a webhook of `reelhook dev`
 * still download the same bytes once those processes have exited and `dev` runs again on
 * the data folder; tampered or expired ones are refused, as S3 refuses them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { localS3ClientConfig } from '../../local/s3.js';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { api, waitFor } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const BIN = join(import.meta.dirname, '../../bin/reelhook.mjs');
const env = { REELHOOK_WAIT_SCALE: '0', REELHOOK_SIMULATOR_SECONDS: '0.3', REELHOOK_CALLBACK_POLICY: 'local' };

let dataDir: string;
let receiver: WebhookReceiver;
/** Every dev started, so that one a failed assertion left running is killed. */
const devs: DevProcess[] = [];

beforeAll(async () => {
  [dataDir, receiver] = await Promise.all([mkdtemp(join(tmpdir(), 'reelhook-video-url-')), startWebhookReceiver()]);
});

afterAll(async () => {
  const left = devs.filter((dev) => dev.child.exitCode === null);
  for (const dev of left) dev.child.kill('SIGKILL');
  await Promise.all(left.map((dev) => dev.exited));
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function startDev(): Promise<DevProcess> {
  const dev = await startDevProcess({ ...env, REELHOOK_DATA_DIR: dataDir });
  devs.push(dev);
  return dev;
}

async function stopDev(dev: DevProcess): Promise<void> {
  dev.child.kill('SIGTERM');
  expect(await dev.exited).toBe(0);
}

async function download(url: string): Promise<{ status: number; sha256: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, sha256: createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex') };
}

it('serves URLs from generate --json and from webhooks after a restart, and refuses tampered or expired ones', async () => {
  // generate with no REELHOOK_URL runs the stack in its own process, which exits with it.
  const out = join(dataDir, 'generated.mp4');
  const generated = await promisify(execFile)(process.execPath, [BIN, 'generate', 'A paper boat on a pond', '--json', '--out', out], {
    env: { ...process.env, ...env, REELHOOK_DATA_DIR: dataDir, REELHOOK_URL: '' },
    timeout: 120_000,
  });
  const fromCli = JSON.parse(generated.stdout) as { video: { url: string; sha256: string } };
  expect(createHash('sha256').update(await readFile(out)).digest('hex')).toBe(fromCli.video.sha256);

  const first = await startDev();
  const created = await api(first.url, 'POST', '/v2/video/generations', {
    apiKey: first.apiKey,
    body: { model: 'kling-video/v1/standard/text-to-video', prompt: 'A lighthouse at dusk', callback_url: `${receiver.url}/hooks` },
  });
  expect(created.status).toBe(200);
  const hook = await waitFor(() => receiver.received.find((entry) => entry.json?.data?.id === created.json.id), 60_000);
  const fromWebhook = hook.json.data.video as { url: string; sha256: string };
  expect(hook.json.type).toBe('generation.completed');
  await stopDev(first);

  const second = await startDev();
  for (const video of [fromCli.video, fromWebhook]) {
    expect(await download(video.url)).toEqual({ status: 200, sha256: video.sha256 });
  }

  const url = new URL(fromWebhook.url);
  url.searchParams.set('X-Amz-Expires', '604800');
  expect((await download(url.href)).status).toBe(403);
  // Signed with the stand-in's own credentials two hours ago for the usual hour: a genuine, expired URL.
  const s3 = new S3Client(localS3ClientConfig(url.origin));
  const [, bucket, ...key] = decodeURIComponent(url.pathname).split('/');
  const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }), {
    expiresIn: 3600,
    signingDate: new Date(Date.now() - 2 * 3600_000),
  });
  s3.destroy();
  expect((await download(expired)).status).toBe(403);
  await stopDev(second);
});
