/**
 * Steps that hang end locally as they end in AWS, at their function's timeout: a provider
 * that never answers the create call, and a video download that stalls half-way. The
 * timeouts are shortened for the test (functionTimeoutSeconds) so that they are reached
 * first, as a function's own timeout is in AWS when a step outlives it; what follows is the
 * deployed definition's and the handlers' own behaviour.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';
const TIMEOUT_SECONDS = 2;

/**
 * A provider on loopback: a create whose prompt says "hang" is never answered; any other
 * job is completed at once, with a video that sends its headers and a first chunk, then stalls.
 */
interface FakeProvider {
  baseUrl: string;
  hungCreates: number;
  stalledDownloads: number;
  close(): Promise<void>;
}

async function startFakeProvider(): Promise<FakeProvider> {
  const video = await readFile(new URL('../fixtures/sample.mp4', import.meta.url));
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
        // A real video's first half, then nothing more.
        response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(video.length) });
        response.write(video.subarray(0, Math.floor(video.length / 2)));
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
    functionTimeoutSeconds: { 'functions/create/handler.ts': TIMEOUT_SECONDS, 'functions/copy/handler.ts': TIMEOUT_SECONDS },
  });
  stack = fixture.stack;
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await provider?.close();
});

async function generate(prompt: string): Promise<{ id: string; done: Record<string, any> }> {
  const created = await api(stack.url, 'POST', '/v2/video/generations', { apiKey: stack.apiKey, body: { model: MODEL, prompt } });
  expect(created.status).toBe(200);
  const id = created.json.id as string;
  const done = await waitFor(async () => {
    const { json } = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
    return json.status === 'completed' || json.status === 'error' ? (json as Record<string, any>) : undefined;
  }, 30_000, 100);
  return { id, done };
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

  it('ends the generation as CopyFailed when the video download stalls', async () => {
    const { id, done } = await generate('a river whose video stalls half-way');
    expect(provider.stalledDownloads).toBeGreaterThanOrEqual(1);
    expect(done.status).toBe('error');
    expect(done.error).toEqual({ name: 'CopyFailed', message: 'step failed unexpectedly (Sandbox.Timedout)' });
    expect(lambdaFailures(id).map((failure) => failure.error)).toEqual(['Sandbox.Timedout']);
  });
});
