/**
 * Lambda's timeout on an in-process handler: the context's remaining time counts down from
 * the function's Timeout, and a handler still running at the deadline fails the invocation
 * with Sandbox.Timedout, which a Task state sees as Lambda reports it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { type LambdaContext, withLambdaTimeout } from '../../local/stepfunctions/lambda-timeout.js';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:slow';
const fn = (timeoutSeconds: number) => ({ name: 'slow', arn: ARN, timeoutSeconds, memoryMb: 256 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withLambdaTimeout', () => {
  it('counts the remaining time down from the function timeout, afresh for each invocation', async () => {
    const seen: Array<[number, number, string]> = [];
    const invoke = withLambdaTimeout(async (_event, context: LambdaContext) => {
      const atStart = context.getRemainingTimeInMillis();
      await sleep(150);
      seen.push([atStart, context.getRemainingTimeInMillis(), context.awsRequestId]);
      return 'done';
    }, fn(5));
    expect(await invoke({})).toBe('done');
    expect(await invoke({})).toBe('done');
    for (const [atStart, later] of seen) {
      expect(atStart).toBeLessThanOrEqual(5_000);
      expect(atStart).toBeGreaterThan(4_000);
      // Counting down (a 150 ms timer may fire a millisecond early by Date.now's clock).
      expect(later).toBeLessThanOrEqual(atStart - 140);
    }
    expect(seen[0]![2]).not.toBe(seen[1]![2]);
  });

  it('fails an invocation that outlives the timeout as Lambda does, and ignores its late outcome', async () => {
    const invoke = withLambdaTimeout(async () => {
      await sleep(600);
      // Abandoned by then: this late failure must not surface anywhere.
      throw new Error('finished after the timeout');
    }, fn(0.25));
    const failure = await invoke({}).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'Sandbox.Timedout', message: expect.stringMatching(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 0\.25 seconds$/) });
    await sleep(500);
  });

  it('gives a Task state Error Sandbox.Timedout and Lambda’s error document as Cause', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'reelhook-lambda-timeout-'));
    const engine = new LocalStepFunctions({
      definition: {
        StartAt: 'Slow',
        States: {
          Slow: { Type: 'Task', Resource: ARN, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Caught' }], End: true },
          Caught: { Type: 'Pass', End: true },
        },
      },
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Timeouts',
      lambdaHandlers: { [ARN]: withLambdaTimeout(() => new Promise(() => undefined), fn(0.2)) },
      waitScale: 0,
      journalPath: join(workDir, 'journal.ndjson'),
    });
    try {
      const { executionArn } = engine.startExecution('hung', '{}');
      await engine.idle();
      const execution = engine.describeExecution(executionArn);
      expect(execution.status).toBe('SUCCEEDED');
      const { failure } = JSON.parse(execution.output!) as { failure: { Error: string; Cause: string } };
      expect(failure.Error).toBe('Sandbox.Timedout');
      expect(JSON.parse(failure.Cause)).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: expect.stringContaining('Task timed out after 0.20 seconds') });
      const failed = engine.executionHistory(executionArn).find((event) => event.type === 'LambdaFunctionFailed');
      expect(failed).toMatchObject({ lambdaFunctionFailedEventDetails: { error: 'Sandbox.Timedout' } });
    } finally {
      await engine.close();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('logs a Task that its own TimeoutSeconds ends as LambdaFunctionTimedOut with States.Timeout, unlike a function timeout', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'reelhook-task-timeout-'));
    const engine = new LocalStepFunctions({
      definition: { StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: ARN, TimeoutSeconds: 1, End: true } } },
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:TaskTimeouts',
      lambdaHandlers: { [ARN]: withLambdaTimeout(() => new Promise(() => undefined), fn(30)) },
      waitScale: 0,
      journalPath: join(workDir, 'journal.ndjson'),
    });
    try {
      const { executionArn } = engine.startExecution('task-timeout', '{}');
      await engine.idle();
      expect(engine.describeExecution(executionArn)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
      const types = engine.executionHistory(executionArn).map((event) => event.type);
      expect(types).toEqual(['ExecutionStarted', 'TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionTimedOut', 'ExecutionFailed']);
    } finally {
      await engine.close();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
