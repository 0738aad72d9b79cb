/**
 * Steps that hang end locally as they end in AWS: a provider that never answers the create
 * call at the function's timeout, and a video download that stalls half-way just before
 * it, as the copy stops itself to be retried. The timeouts are shortened for the test
 * (functionTimeoutSeconds) so that they are reached first, as a function's own timeout is
 * in AWS when a step outlives it; what follows is the deployed definition's and the
 * handlers' own behaviour.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoKeyFor } from '#shared/facts.js';
import { localS3ClientConfig } from '../../local/s3.js';
import type { LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';
const TIMEOUT_SECONDS = 2;
/** Long enough that the stalled copy has sent its first 16 MiB part before it stops. */
const COPY_TIMEOUT_SECONDS = 6;
const MiB = 1024 * 1024;
/** Past the copy's first 16 MiB part, so the stalled download has a multipart upload to abort. */
const STALL_AFTER_BYTES = 17 * MiB;

/**
 * A provider on loopback: a create whose prompt says "hang" is never answered; any other
 * job is completed at once, with a 24 MiB video that sends its headers and 17 MiB, then stalls.
 */
interface FakeProvider {
  baseUrl: string;
  hungCreates: number;
  stalledDownloads: number;
  close(): Promise<void>;
}

async function startFakeProvider(): Promise<FakeProvider> {
  const sample = await readFile(new URL('../fixtures/sample.mp4', import.meta.url));
  // A real video's start, so that the copy's sniffer lets it through; it never gets to the rest.
  const video = Buffer.concat([sample, Buffer.alloc(24 * MiB - sample.length)]);
  const held: ServerResponse[] = [];
  const provider: FakeProvider = { baseUrl: '', hungCreates: 0, stalledDownloads: 0, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      if (request.method === 'POST' && url.pathname === '/v2/video/generations') {
        if (body.includes('hang')) {
          provider.hungCreates += 1;
          held.push(response);
          return;
        }
        json(201, { id: 'job-stall', status: 'queued' });
        return;
      }
      if (request.method === 'GET' && url.pathname === '/v2/video/generations') {
        json(200, { id: url.searchParams.get('generation_id'), status: 'completed', video: { url: `${provider.baseUrl}/videos/stall.mp4` } });
        return;
      }
      if (url.pathname === '/videos/stall.mp4') {
        provider.stalledDownloads += 1;
        response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(video.length) });
        response.write(video.subarray(0, STALL_AFTER_BYTES));
        held.push(response);
        return;
      }
      json(404, { message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.close = async () => {
    for (const response of held) response.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return provider;
}

let provider: FakeProvider;
let fixture: StackFixture;
let stack: LocalStack;

beforeAll(async () => {
  provider = await startFakeProvider();
  fixture = await startStackFixture('lambda-timeouts', {
    providerKey: 'fake-provider-key',
    providerBaseUrl: provider.baseUrl,
    functionTimeoutSeconds: { 'functions/create/handler.ts': TIMEOUT_SECONDS, 'functions/copy/handler.ts': COPY_TIMEOUT_SECONDS },
  });
  stack = fixture.stack;
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await provider?.close();
});

/** Starts a generation and polls it until it ends, calling `onPoll` on each round. */
async function generate(prompt: string, onPoll: () => Promise<void> = async () => undefined): Promise<{ id: string; done: Record<string, any> }> {
  const created = await api(stack.url, 'POST', '/v2/video/generations', { apiKey: stack.apiKey, body: { model: MODEL, prompt } });
  expect(created.status).toBe(200);
  const id = created.json.id as string;
  const done = await waitFor(async () => {
    await onPoll();
    const { json } = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
    return json.status === 'completed' || json.status === 'error' ? (json as Record<string, any>) : undefined;
  }, 120_000, 50);
  return { id, done };
}

/** Multipart uploads the S3 stand-in holds parts for. */
async function pendingUploads(): Promise<string[]> {
  return readdir(join(fixture.dataDir, 's3', stack.names.bucketName, '._S3rver_uploads')).catch(() => []);
}

/** The failed Lambda events of the generation's execution, read from its history. */
function lambdaFailures(id: string) {
  const execution = stack.engine.listExecutions().find((candidate) => candidate.input.includes(id));
  if (!execution) throw new Error(`no execution for ${id}`);
  return stack.engine
    .executionHistory(execution.executionArn)
    .filter((event) => event.type === 'LambdaFunctionFailed')
    .map((event) => event.lambdaFunctionFailedEventDetails as { error: string; cause: string });
}

describe('a step that outlives its function timeout', () => {
  it('ends the generation when the provider never answers the create call, as Submit Generation’s Catch does in AWS', async () => {
    const { id, done } = await generate('hang: a lighthouse the provider never answers for');
    expect(provider.hungCreates).toBe(1);
    expect(done.status).toBe('error');
    expect(done.error).toEqual({ name: 'ProviderUnavailable', message: 'step failed unexpectedly (Sandbox.Timedout)' });
    const [failure] = lambdaFailures(id);
    expect(failure?.error).toBe('Sandbox.Timedout');
    expect(JSON.parse(failure!.cause)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(new RegExp(`Task timed out after ${TIMEOUT_SECONDS}\\.00 seconds$`)),
    });
  });

});

describe('a copy that would outlive its function timeout', () => {
  it('stops before the timeout with CopyFailed, aborting its multipart upload, and is retried', async () => {
    let uploadsSeen = 0;
    const { id, done } = await generate('a river whose video stalls half-way', async () => {
      uploadsSeen = Math.max(uploadsSeen, (await pendingUploads()).length);
    });
    // The Copy Video Task's Retry: CopyFailed, 3 more attempts, each a download of its own.
    const failures = lambdaFailures(id);
    expect(failures.map((failure) => failure.error)).toEqual(['CopyFailed', 'CopyFailed', 'CopyFailed', 'CopyFailed']);
    expect(provider.stalledDownloads).toBe(4);
    // 25 % of 6 s: the copy's margin for a timeout under 2 minutes.
    expect(JSON.parse(failures[0]!.cause).errorMessage).toMatch(
      new RegExp(`^the copy was stopped 1\\.5 s before the function's timeout, after \\d+ of ${24 * MiB} bytes from http://127\\.0\\.0\\.1:\\d+/videos/stall\\.mp4; its upload was aborted$`),
    );
    expect(done.status).toBe('error');
    expect(done.error.name).toBe('CopyFailed');
    expect(done.error.message).toContain("before the function's timeout");
    expect(done.video).toBeNull();
    // Each attempt had a multipart upload under way; none is left, and no object either.
    expect(uploadsSeen).toBe(1);
    expect(await pendingUploads()).toEqual([]);
    const s3 = new S3Client(localS3ClientConfig(stack.s3Endpoint));
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: stack.names.bucketName, Prefix: videoKeyFor(id) }));
    s3.destroy();
    expect(listing.Contents ?? []).toEqual([]);
  }, 150_000);
});
