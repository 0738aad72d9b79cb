/**
 * GET /v2/video/generations/ID/history on the local stack: the API reads the generation's
 * execution from the Step Functions stand-in with GetExecutionHistory, as it does from
 * Step Functions in AWS, and shows a retried status check with its error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { generationHistorySchema } from '../../functions/api/schemas.js';
import { api, waitFor } from '../support/http.js';
import { startStackFixture, type StackFixture } from '../support/stack-fixture.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';

let fixture: StackFixture;
let id: string;

beforeAll(async () => {
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  fixture = await startStackFixture('history');
  // The first two status checks answer 502: Check Status fails with ProviderUnavailable and is retried.
  const created = await api(fixture.stack.url, 'POST', '/v2/video/generations', {
    apiKey: fixture.stack.apiKey,
    body: { model: V16, prompt: 'a lighthouse at dusk [sim:status-502*2]' },
  });
  expect(created.status).toBe(200);
  id = created.json.id;
  await waitFor(async () => {
    const { json } = await api(fixture.stack.url, 'GET', `/v2/video/generations/${id}/history`, { apiKey: fixture.stack.apiKey });
    return json.execution?.status === 'SUCCEEDED' ? json : undefined;
  }, 60_000, 100);
});

afterAll(() => fixture?.close());

describe('GET /v2/video/generations/ID/history', () => {
  it('shows the states of the run in order, with durations, and the retried status check with its error', async () => {
    const { status, json } = await api(fixture.stack.url, 'GET', `/v2/video/generations/${id}/history`, { apiKey: fixture.stack.apiKey });
    expect(status).toBe(200);
    const history = generationHistorySchema.parse(json);
    expect(history).toMatchObject({ generation_id: id, execution_name: id, execution: { status: 'SUCCEEDED', error: null, truncated: false } });
    const states = history.execution!.states;
    const names = states.map((state) => state.name);
    for (const [before, after] of [['Submit Generation', 'Check Status'], ['Check Status', 'Copy Video'], ['Copy Video', 'Record Completion'], ['Record Completion', 'Generation Completed']]) {
      expect(names.indexOf(before!), `${before} before ${after}`).toBeLessThan(names.indexOf(after!));
    }
    expect(states.every((state) => state.exited_at !== null && state.duration_ms !== null && state.duration_ms >= 0)).toBe(true);
    const retried = states.filter((state) => state.retries.length > 0);
    expect(retried.map((state) => state.name)).toEqual(['Check Status']);
    expect(retried[0]!.retries).toEqual([
      { at: expect.any(String), error: 'ProviderUnavailable', cause: expect.stringMatching(/answered 502/) },
      { at: expect.any(String), error: 'ProviderUnavailable', cause: expect.stringMatching(/answered 502/) },
    ]);
    // The cause is the error's message, not Lambda's JSON wrapper.
    expect(retried[0]!.retries[0]!.cause).not.toContain('errorType');
    expect(history.execution!.event_count).toBeGreaterThan(states.length);
  });

  it("answers 404 for another key's generation, exactly like an unknown one", async () => {
    const own = await api(fixture.stack.url, 'GET', `/v2/video/generations/${id}/history`, { apiKey: fixture.stack.apiKey });
    expect(own.status).toBe(200);
    const other = await new ApiKeyStore(createDocumentClient(), fixture.stack.names.tableName).issue('other team');
    const foreign = await api(fixture.stack.url, 'GET', `/v2/video/generations/${id}/history`, { apiKey: other.api_key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.name).toBe('NotFound');
    expect(JSON.stringify(foreign.json)).not.toContain('Check Status');
    const unknown = await api(fixture.stack.url, 'GET', `/v2/video/generations/gen_00000000000000000000000000/history`, { apiKey: fixture.stack.apiKey });
    expect(unknown.status).toBe(404);
    expect(foreign.json.error.message.replace(id, 'ID')).toBe(unknown.json.error.message.replace('gen_00000000000000000000000000', 'ID'));
  });
});
