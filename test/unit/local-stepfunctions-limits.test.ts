/**
 * Step Functions' limits in the local engine, as AWS applies them: a state's input or
 * output over 256 KiB fails the execution with States.DataLimitExceeded (terminal: a
 * States.ALL Catch does not see it), and a history that reaches 25,000 events ends with
 * ExecutionFailed States.Runtime as its 25,000th, unless that event is ExecutionSucceeded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalTaskHandler, LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../../local/stepfunctions/history.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Limits';
const MAKE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:make';
const RECORD_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:record';
const COUNT_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:count';

let workDir: string | undefined;
let engine: LocalStepFunctions | undefined;

afterEach(async () => {
  await engine?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  engine = undefined;
  workDir = undefined;
});

function start(definition: Record<string, unknown>, lambdaHandlers: Record<string, LocalTaskHandler>): LocalStepFunctions {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-limits-'));
  engine = new LocalStepFunctions({ definition, stateMachineArn: STATE_MACHINE_ARN, lambdaHandlers, waitScale: 0, journalPath: join(workDir, 'journal.ndjson') });
  return engine;
}

async function run(local: LocalStepFunctions, input: unknown = {}) {
  const { executionArn } = local.startExecution('run', JSON.stringify(input));
  await local.idle();
  return { execution: local.describeExecution(executionArn), history: local.executionHistory(executionArn) };
}

/** A string whose JSON (with the quotes) is `bytes` long. */
const jsonOfSize = (bytes: number) => 'x'.repeat(bytes - 2);

describe('the 256 KiB payload limit', () => {
  /** Make → Record; a Catch on States.ALL would send any catchable failure of Make to Recover. */
  const withCatch = {
    StartAt: 'Make',
    States: {
      Make: { Type: 'Task', Resource: MAKE_ARN, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }], Next: 'Record' },
      Record: { Type: 'Task', Resource: RECORD_ARN, End: true },
      Recover: { Type: 'Task', Resource: RECORD_ARN, End: true },
    },
  };

  it('fails the execution when a Task returns a 300 KB result, past a States.ALL Catch, and runs nothing after', async () => {
    const recorded: unknown[] = [];
    const local = start(withCatch, {
      [MAKE_ARN]: async () => ({ video: 'x'.repeat(300_000) }),
      [RECORD_ARN]: async (event) => recorded.push(event),
    });
    const { execution, history } = await run(local);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(execution.cause).toContain(MAKE_ARN);
    expect(recorded).toEqual([]);
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'States.DataLimitExceeded' } });
    expect(history.map((event) => event.type)).not.toContain('TaskStateExited');
  });

  it('fails the execution when a state output built by ResultPath passes the limit, though each part is under it', async () => {
    const recorded: unknown[] = [];
    const local = start(
      {
        StartAt: 'Make',
        States: {
          Make: { Type: 'Task', Resource: MAKE_ARN, ResultPath: '$.second', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }], Next: 'Record' },
          Record: { Type: 'Task', Resource: RECORD_ARN, End: true },
          Recover: { Type: 'Task', Resource: RECORD_ARN, End: true },
        },
      },
      { [MAKE_ARN]: async () => jsonOfSize(150_000), [RECORD_ARN]: async (event) => recorded.push(event) },
    );
    const { execution } = await run(local, { first: jsonOfSize(150_000) });
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(execution.cause).toContain("'Make'");
    expect(recorded).toEqual([]);
  });

  it('fails a Task whose input after Parameters passes the limit before its Lambda runs', async () => {
    const made: unknown[] = [];
    const local = start(
      {
        StartAt: 'Make',
        States: {
          Make: { Type: 'Task', Resource: MAKE_ARN, Parameters: { 'a.$': '$.half', 'b.$': '$.half' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }], End: true },
          Recover: { Type: 'Task', Resource: RECORD_ARN, End: true },
        },
      },
      { [MAKE_ARN]: async (event) => made.push(event), [RECORD_ARN]: async (event) => made.push(event) },
    );
    const { execution } = await run(local, { half: jsonOfSize(140_000) });
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(made).toEqual([]);
  });

  it('lets an output of exactly 256 KiB through', async () => {
    // {"v":"xxx…"} is 262,144 bytes of JSON: 6 for {"v":} plus the string.
    const local = start(withCatch, {
      [MAKE_ARN]: async () => ({ v: 'x'.repeat(PAYLOAD_LIMIT_BYTES - 8) }),
      [RECORD_ARN]: async () => 'recorded',
    });
    const { execution } = await run(local);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: '"recorded"' });
  });

  it('counts UTF-8 bytes, not characters', async () => {
    // 100,000 three-byte characters: 300,002 bytes of JSON in 100,002 characters.
    const local = start(withCatch, { [MAKE_ARN]: async () => '€'.repeat(100_000), [RECORD_ARN]: async () => 'recorded' });
    const { execution } = await run(local);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });
});

describe('the 25,000-event history limit', () => {
  /**
   * Three Pass states (6 events), then Count → Enough? until count reaches `iterations`
   * (7 events each), then Done (2) and ExecutionSucceeded: 7 × iterations + 10 events.
   */
  const loop = (iterations: number) => ({
    StartAt: 'One',
    States: {
      One: { Type: 'Pass', Next: 'Two' },
      Two: { Type: 'Pass', Next: 'Three' },
      Three: { Type: 'Pass', Parameters: { count: 0 }, Next: 'Count' },
      Count: { Type: 'Task', Resource: COUNT_ARN, Next: 'Enough?' },
      'Enough?': { Type: 'Choice', Choices: [{ Variable: '$.count', NumericGreaterThanEquals: iterations, Next: 'Done' }], Default: 'Count' },
      Done: { Type: 'Succeed' },
    },
  });
  const counter = (calls: { count: number }) => ({
    [COUNT_ARN]: async (event: unknown) => {
      calls.count += 1;
      return { count: (event as { count: number }).count + 1 };
    },
  });

  it('succeeds when ExecutionSucceeded is event 25,000', async () => {
    const calls = { count: 0 };
    const local = start(loop(3570), counter(calls));
    const { execution, history } = await run(local);
    expect(execution.status).toBe('SUCCEEDED');
    expect(history).toHaveLength(HISTORY_EVENT_LIMIT);
    expect(history.at(-1)).toMatchObject({ id: 25_000, type: 'ExecutionSucceeded' });
    expect(calls.count).toBe(3570);
  });

  it('fails with States.Runtime as event 25,000 when the run needs more, and invokes no Lambda past it', async () => {
    const calls = { count: 0 };
    const local = start(loop(3571), counter(calls));
    const { execution, history } = await run(local);
    expect(execution).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'The execution reached the maximum number of history events (25000).',
    });
    expect(history).toHaveLength(HISTORY_EVENT_LIMIT);
    expect(history.at(-1)).toMatchObject({
      id: 25_000,
      previousEventId: 24_999,
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'States.Runtime' },
    });
    const started = history.filter((event) => event.type === 'LambdaFunctionStarted').length;
    expect(calls.count).toBe(started);
    expect(history.filter((event) => event.type === 'LambdaFunctionSucceeded')).toHaveLength(started);
  });
});
