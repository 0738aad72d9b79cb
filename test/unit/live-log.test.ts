import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { colorWanted, LiveLog, redact, type DeliveryView } from '../../local/live-log.js';
import type { HistoryEvent } from '../../local/stepfunctions/engine.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';

const API_KEY = 'rk_live_log_unit_0123456789';
const WEBHOOK_SECRET = 'whsec_bGl2ZWxvZ3VuaXRzZWNyZXQ=';
const PROVIDER_KEY = 'provider-key-0123456789abcdef';
const SECRETS = [API_KEY, WEBHOOK_SECRET, PROVIDER_KEY];
const ARN = 'arn:aws:states:us-east-1:123456789012:execution:Generation:gen_1';
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:step';

/** The workflow's shape in small: result paths and wait paths as infra/workflow.ts writes them. */
const definition = {
  StartAt: 'Check Status',
  States: {
    'Check Status': { Type: 'Task', Resource: FUNCTION, ResultPath: '$.poll', Next: 'Provider Finished?' },
    'Provider Finished?': { Type: 'Choice', Choices: [{ Variable: '$.poll.status', StringEquals: 'completed', Next: 'Copy Video' }], Default: 'Wait For Provider' },
    'Wait For Provider': { Type: 'Wait', TimestampPath: '$.poll.next_check_at', Next: 'Check Status' },
    'Copy Video': { Type: 'Task', Resource: FUNCTION, ResultPath: '$.video', Next: 'Notify Callback' },
    'Notify Callback': { Type: 'Task', Resource: FUNCTION, ResultPath: '$.delivery', End: true },
  },
};

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
let id = 0;
const event = (type: string, seconds: number, details: Record<string, unknown> = {}): HistoryEvent => {
  id += 1;
  return { id, previousEventId: id - 1, timestamp: at(seconds), type, ...details };
};
const entered = (name: string, seconds: number, input: unknown, type = 'Task') =>
  event(`${type}StateEntered`, seconds, { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
const exited = (name: string, seconds: number, output: unknown) =>
  event('TaskStateExited', seconds, { stateExitedEventDetails: { name, output: JSON.stringify(output) } });

const notification = { webhook_id: 'wh_1', event_type: 'generation.completed' };
const delivery: DeliveryView = {
  event_type: 'generation.completed',
  state: 'delivered',
  next_attempt_at: null,
  attempt_log: {
    '1': { attempt: 1, at: at(9).toISOString(), trigger: 'schedule', finished: true, delivered: true, status_code: 200, duration_ms: 12, error: null },
  },
};

/** One generation's run: a failed poll, its retry, a wait, the copy, the webhook; the cause echoes every secret. */
const run: HistoryEvent[] = [
  event('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ generation_id: 'gen_1' }) } }),
  entered('Check Status', 1, { generation_id: 'gen_1' }),
  event('LambdaFunctionScheduled', 1),
  event('LambdaFunctionStarted', 1),
  event('LambdaFunctionFailed', 2, {
    lambdaFunctionFailedEventDetails: {
      error: 'ProviderUnavailable',
      cause: JSON.stringify({ errorType: 'ProviderUnavailable', errorMessage: `answered 502 for ${PROVIDER_KEY}, Bearer ${API_KEY}, ${WEBHOOK_SECRET}, http://p/x?token=abc` }),
    },
  }),
  event('LambdaFunctionScheduled', 3),
  event('LambdaFunctionStarted', 3),
  event('LambdaFunctionSucceeded', 3),
  exited('Check Status', 3, { generation_id: 'gen_1', poll: { status: 'pending' } }),
  entered('Provider Finished?', 3, {}, 'Choice'),
  entered('Wait For Provider', 3, { poll: { next_check_at: at(5).toISOString() } }, 'Wait'),
  entered('Check Status', 5, { generation_id: 'gen_1' }),
  event('LambdaFunctionScheduled', 5),
  event('LambdaFunctionStarted', 5),
  exited('Check Status', 5, { poll: { status: 'completed' } }),
  entered('Copy Video', 6, {}),
  event('LambdaFunctionScheduled', 6),
  event('LambdaFunctionStarted', 6),
  exited('Copy Video', 8, { video: { size_bytes: 3 * 1024 * 1024 } }),
  entered('Notify Callback', 9, { notification }),
  event('LambdaFunctionScheduled', 9),
  event('LambdaFunctionStarted', 9),
  exited('Notify Callback', 9, { notification, delivery: { done: true } }),
  event('ExecutionSucceeded', 10, { executionSucceededEventDetails: { output: '{}' } }),
];

async function linesOf(color: boolean, events: HistoryEvent[]): Promise<string[]> {
  const lines: string[] = [];
  const log = new LiveLog({
    sink: { color, write: (line) => lines.push(line) },
    definition,
    secrets: SECRETS,
    deliveryOf: async (generationId, webhookId) => (generationId === 'gen_1' && webhookId === 'wh_1' ? delivery : null),
    now: () => at(0),
  });
  log.request({ method: 'POST', url: '/v2/video/generations?api_key=leak', statusCode: 200, durationMs: 41.6, responseBody: JSON.stringify({ id: 'gen_1' }) });
  for (const next of events) log.historyEvent(ARN, next);
  await log.flushed();
  // The clock is local time: compare what follows it.
  return lines.map((line) => stripVTControlCharacters(line).replace(/^\d\d:\d\d:\d\d\.\d{3} {2}/, ''));
}

describe('LiveLog', () => {
  it('prints one plain line per request and per step, in order', async () => {
    const lines = await linesOf(false, run);
    expect(lines).toEqual([
      'POST   /v2/video/generations 200 42 ms  gen_1',
      'gen_1  Check Status',
      'gen_1  Check Status failed: ProviderUnavailable: answered 502 for [redacted], Bearer [redacted], [redacted], http://p/x',
      'gen_1  Check Status retry #2 after ProviderUnavailable',
      `gen_1  Wait For Provider until ${new Date(at(5)).toTimeString().slice(0, 8)}.000 (2.0 s)`,
      'gen_1  Check Status #2',
      'gen_1  Copy Video',
      'gen_1  Copy Video: copied 3.0 MiB in 2.0 s',
      'gen_1  Notify Callback',
      'gen_1  webhook generation.completed attempt 1: 200 in 12 ms, delivered',
      'gen_1  execution succeeded in 10.0 s',
    ]);
  });

  it('colours the lines when the sink takes colour, and the text stays the same', async () => {
    const plain = await linesOf(false, run);
    const coloured: string[] = [];
    const log = new LiveLog({ sink: { color: true, write: (line) => coloured.push(line) }, definition, secrets: SECRETS, deliveryOf: async () => delivery });
    log.request({ method: 'GET', url: '/v2/video/generations/gen_1', statusCode: 404, durationMs: 3 });
    for (const next of run) log.historyEvent(ARN, next);
    await log.flushed();
    expect(coloured.every((line) => line.includes('\u001b['))).toBe(true);
    // Red for the failure, yellow for the 404 and the retry.
    expect(coloured.find((line) => line.includes('failed:'))).toContain('\u001b[31m');
    expect(coloured[0]).toContain('\u001b[33m404');
    expect(coloured.slice(1).map((line) => stripVTControlCharacters(line).slice(14))).toEqual(plain.slice(1));
    expect(plain.join('\n')).not.toContain('\u001b[');
  });

  it('shows a notify run that made no attempt as its state only', async () => {
    const again = [
      event('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ generation_id: 'gen_1', notification }) } }),
      entered('Notify Callback', 1, { notification }),
      exited('Notify Callback', 1, { notification, delivery: { done: true } }),
      entered('Notify Callback', 2, { notification }),
      exited('Notify Callback', 2, { notification, delivery: { done: true } }),
    ];
    const lines = await linesOf(false, again);
    expect(lines.slice(1)).toEqual([
      'gen_1  delivery run for generation.completed',
      'gen_1  Notify Callback',
      'gen_1  webhook generation.completed attempt 1: 200 in 12 ms, delivered',
      'gen_1  Notify Callback #2',
    ]);
  });
});

describe('redact', () => {
  it('removes known secrets, bearer tokens, key-shaped tokens and query strings', () => {
    expect(redact(`x ${PROVIDER_KEY} Bearer abc.def rk_abcdefghijklmnop whsec_QUJDREVGR0g= https://h/p?sig=1 y`, [PROVIDER_KEY])).toBe(
      'x [redacted] Bearer [redacted] [redacted] [redacted] https://h/p y',
    );
    // No escape sequence reaches the terminal, and a long text stays one short line.
    expect(redact('/v2/\u001b[2Jx\nnext', [])).toBe('/v2/?[2Jx next');
    expect(redact('a'.repeat(500), [])).toHaveLength(160);
  });
});

describe('colorWanted', () => {
  it('colours a terminal only, unless NO_COLOR is set or TERM is dumb', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});

describe('the engine hook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelhook-live-log-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hands every history event of a run to the observer, as the history records them', async () => {
    const seen: Array<[string, HistoryEvent]> = [];
    const engine = new LocalStepFunctions({
      definition: { StartAt: 'Step', States: { Step: { Type: 'Task', Resource: FUNCTION, End: true } } },
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Generation',
      lambdaHandlers: { [FUNCTION]: async () => ({ ok: true }) },
      waitScale: 0,
      journalPath: join(dir, 'executions.ndjson'),
      onHistoryEvent: (executionArn, recorded) => {
        seen.push([executionArn, recorded]);
        throw new Error('an observer that throws changes nothing');
      },
    });
    const { executionArn } = engine.startExecution('gen_1', '{"generation_id":"gen_1"}');
    await engine.idle();
    expect(engine.describeExecution(executionArn).status).toBe('SUCCEEDED');
    expect(seen.map(([arn]) => arn).every((arn) => arn === executionArn)).toBe(true);
    expect(seen.map(([, recorded]) => recorded)).toEqual(engine.executionHistory(executionArn));
    await engine.close();
  });
});
