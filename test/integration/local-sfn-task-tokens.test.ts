/**
 * SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat served by the local Step Functions
 * stand-in, called through @aws-sdk/client-sfn as in AWS, and the admission's resumer on top.
 */
import { DescribeExecutionCommand, SendTaskFailureCommand, StartExecutionCommand, StopExecutionCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSfnFixture, startLocalSfnFixture } from '../support/local-sfn.js';
import { StepFunctionsTaskResumer } from '#shared/admission/task-resumer.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Tokens';
const ADMIT_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:admit';
/** Waits in a `.waitForTaskToken` Task whose Lambda receives the token; a timeout is caught. */
const definition = {
  StartAt: 'Wait For Slot',
  States: {
    'Wait For Slot': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: ADMIT_ARN, Payload: { 'name.$': '$.name', 'task_token.$': '$$.Task.Token' } },
      TimeoutSeconds: 2,
      ResultPath: '$.admission',
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.failure', Next: 'Timed Out' }],
      Next: 'Done',
    },
    'Timed Out': { Type: 'Fail', Error: 'TimedOut', Cause: 'no slot in time' },
    Done: { Type: 'Succeed' },
  },
};
const tokensByName = new Map<string, string>();
const ended: { name: string; status: string }[] = [];

let sfn: LocalSfnFixture;
let engine: LocalStepFunctions;
let client: SFNClient;

beforeAll(async () => {
  sfn = await startLocalSfnFixture('tokens', {
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: {
      [ADMIT_ARN]: async (event) => {
        const { name, task_token } = event as { name: string; task_token: string };
        tokensByName.set(name, task_token);
        return null;
      },
    },
    waitScale: 0,
    onExecutionEnded: (execution) => {
      ended.push({ name: execution.name, status: execution.status });
    },
  });
  ({ engine, client } = sfn);
});

afterAll(() => sfn?.close());

describe('task tokens over the SFN API', () => {
  it('settles a waiting Task with SendTaskSuccess and answers TaskDoesNotExist to a second one', async () => {
    const { token, result } = engine.taskTokens.issue(new AbortController().signal);
    await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"admitted":true}' }));
    await expect(result).resolves.toEqual({ admitted: true });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
  });

  it('fails a waiting Task with SendTaskFailure', async () => {
    const { token, result } = engine.taskTokens.issue(new AbortController().signal);
    const failed = expect(result).rejects.toMatchObject({ name: 'Cancelled' });
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Cancelled', cause: 'by the caller' }));
    await failed;
  });

  it('lets the admission resumer pass a slot on when the task is gone, instead of failing', async () => {
    const resumer = new StepFunctionsTaskResumer(client);
    const execution = new AbortController();
    const live = engine.taskTokens.issue(new AbortController().signal);
    const dead = engine.taskTokens.issue(execution.signal);
    execution.abort();
    await dead.result.catch(() => undefined);
    expect(await resumer.resume(live.token, { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(true);
    await expect(live.result).resolves.toEqual({ admitted: true, waited_since: '2026-01-01T00:00:00.000Z' });
    expect(await resumer.resume(dead.token, { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(false);
    expect(await resumer.resume('never-issued', { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(false);
  });
});

async function finalStatus(executionArn: string) {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${executionArn} still running`);
}

async function tokenOf(name: string): Promise<string> {
  for (let attempt = 0; attempt < 1000 && !tokensByName.has(name); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  return tokensByName.get(name)!;
}

describe('a .waitForTaskToken Task in the local engine', () => {
  it('hands the Lambda a real token at $$.Task.Token and continues with the SendTaskSuccess output', async () => {
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'wait-1', input: '{"name":"wait-1"}' }));
    const token = await tokenOf('wait-1');
    expect(token).toMatch(/^rhlt1\./);
    expect(engine.inFlightTaskCount()).toBe(0); // waiting is not in flight: a drain does not wait for it
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"admitted":true}' }));
    const execution = await finalStatus(executionArn!);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({ name: 'wait-1', admission: { admitted: true } });
  });

  it("times the Task out by its TimeoutSeconds into the state's Catch, and the dead token answers TaskTimedOut", async () => {
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'wait-2', input: '{"name":"wait-2"}' }));
    const token = await tokenOf('wait-2');
    const execution = await finalStatus(executionArn!);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'TimedOut' });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });
});

describe('execution status changes', () => {
  it('reports a stopped waiting execution as ABORTED and kills its token (what releases its slot)', async () => {
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'wait-3', input: '{"name":"wait-3"}' }));
    const token = await tokenOf('wait-3');
    await client.send(new StopExecutionCommand({ executionArn }));
    for (let attempt = 0; attempt < 500 && !ended.some((e) => e.name === 'wait-3'); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ended).toContainEqual({ name: 'wait-3', status: 'ABORTED' });
    expect(ended).toContainEqual({ name: 'wait-1', status: 'SUCCEEDED' });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });
});
