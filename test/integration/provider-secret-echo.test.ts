/**
 * A provider that echoes our key back in every text it sends (the create's status, the
 * status check's status and its error's name and message, plain and as `Bearer …`): the
 * generation fails with ProviderFailed as it should, and the key appears nowhere it
 * reaches: the API's record, the webhook, the events, the execution journal, the table.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';
import { startEchoProvider, type EchoProvider } from '../support/echo-provider.js';
import { api, waitFor } from '../support/http.js';

const PROVIDER_KEY = 'sk-echo-0123456789abcdef-provider-secret';

let provider: EchoProvider;
let fixture: StackFixture;

beforeAll(async () => {
  provider = await startEchoProvider(PROVIDER_KEY);
  fixture = await startStackFixture('secret-echo', { providerKey: PROVIDER_KEY, providerBaseUrl: provider.baseUrl });
});

afterAll(async () => {
  await fixture?.close();
  await provider?.close();
});

it('keeps the provider key out of the record, the webhook, the events, the journal and the table', async () => {
  const { stack, receiver } = fixture;
  const created = await api(stack.url, 'POST', '/v2/video/generations', {
    apiKey: stack.apiKey,
    body: { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'An echo', callback_url: `${receiver.url}/hook` },
  });
  expect(created.status).toBe(200);
  const id = String(created.json.id);
  const done = await waitFor(async () => {
    const { json } = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
    return json.status === 'error' ? json : undefined;
  }, 60_000);
  expect(done.error).toMatchObject({ name: 'ProviderFailed', message: expect.stringContaining('[redacted]') });
  const hook = await waitFor(() => receiver.received[0], 30_000);
  await stack.engine.idle();

  const scan = await new DynamoDBClient({}).send(new ScanCommand({ TableName: stack.names.tableName }));
  const places = {
    record: JSON.stringify(done),
    webhook: hook.body,
    events: await readFile(stack.eventsFile, 'utf8'),
    journal: await readFile(join(fixture.dataDir, 'executions.ndjson'), 'utf8'),
    table: JSON.stringify(scan.Items),
  };
  expect(places.events).toContain(id);
  expect(places.journal).toContain(id);
  for (const [place, text] of Object.entries(places)) expect(text, place).not.toContain(PROVIDER_KEY);
});
