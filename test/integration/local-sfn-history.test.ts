/**
 * The stand-in's inspection operations through @aws-sdk/client-sfn: ListStateMachines,
 * DescribeStateMachine, DescribeStateMachineForExecution and GetExecutionHistory, whose
 * events follow AWS's types, ids and paging.
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  DescribeStateMachineForExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSfnFixture, startLocalSfnFixture } from '../support/local-sfn.js';
import { waitFor } from '../support/http.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:History';
const EXECUTION_PREFIX = 'arn:aws:states:us-east-1:123456789012:execution:History:';
const STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:step';
const FLAKY_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';

/** A function-ARN Task, a Wait, a Choice, a retried lambda:invoke Task and a Succeed. */
const definition = {
  StartAt: 'Step',
  States: {
    Step: { Type: 'Task', Resource: STEP_ARN, TimeoutSeconds: 30, Next: 'Pause' },
    Pause: { Type: 'Wait', Seconds: 5, Next: 'Again?' },
    'Again?': { Type: 'Choice', Choices: [{ Variable: '$.count', NumericLessThan: 2, Next: 'Step' }], Default: 'Flaky' },
    Flaky: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FLAKY_ARN, 'Payload.$': '$' },
      OutputPath: '$.Payload',
      Retry: [{ ErrorEquals: ['Busy'], MaxAttempts: 2 }],
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

class Busy extends Error {
  override name = 'Busy';
}

let sfn: LocalSfnFixture;
let client: SFNClient;
const flakyCalls = new Map<string, number>();

beforeAll(async () => {
  sfn = await startLocalSfnFixture('history', {
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: {
      [STEP_ARN]: async (event) => {
        const job = event as { name: string; count?: number };
        return { ...job, count: (job.count ?? 0) + 1 };
      },
      [FLAKY_ARN]: async (event) => {
        const job = event as { name: string };
        const calls = (flakyCalls.get(job.name) ?? 0) + 1;
        flakyCalls.set(job.name, calls);
        if (calls === 1) throw new Busy('try again');
        return { ...job, flaky: calls };
      },
    },
    waitScale: 0,
  });
  ({ client } = sfn);
});

afterAll(() => sfn?.close());

async function runToEnd(name: string): Promise<string> {
  const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input: JSON.stringify({ name }) }));
  await waitFor(async () => {
    const { status } = await client.send(new DescribeExecutionCommand({ executionArn }));
    return status === 'RUNNING' ? undefined : status;
  }, 10_000, 10);
  return executionArn!;
}

async function allEvents(executionArn: string, pageSize: number, reverseOrder = false): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: pageSize, nextToken, reverseOrder }));
    expect(page.events!.length).toBeLessThanOrEqual(pageSize);
    events.push(...page.events!);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return events;
}

describe('GetExecutionHistory', () => {
  it('records every state, Lambda attempt and retry with AWS event types, in order', async () => {
    const executionArn = await runToEnd('ordered');
    const events = await allEvents(executionArn, 1000);
    const loop = ['TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionSucceeded', 'TaskStateExited',
      'WaitStateEntered', 'WaitStateExited', 'ChoiceStateEntered', 'ChoiceStateExited'];
    expect(events.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      ...loop,
      ...loop,
      'TaskStateEntered',
      'TaskScheduled', 'TaskStarted', 'TaskFailed',
      'TaskScheduled', 'TaskStarted', 'TaskSucceeded',
      'TaskStateExited',
      'SucceedStateEntered', 'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((event) => event.id)).toEqual(events.map((_event, index) => index + 1));
    expect(events.map((event) => event.previousEventId)).toEqual(events.map((_event, index) => index));
    for (const event of events) expect(event.timestamp).toBeInstanceOf(Date);

    expect(events[0]!.executionStartedEventDetails).toMatchObject({ input: JSON.stringify({ name: 'ordered' }), roleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\//) });
    expect(events[1]!.stateEnteredEventDetails).toEqual({ name: 'Step', input: '{"name":"ordered"}', inputDetails: { truncated: false } });
    expect(events[2]!.lambdaFunctionScheduledEventDetails).toMatchObject({ resource: STEP_ARN, input: '{"name":"ordered"}', timeoutInSeconds: 30 });
    expect(JSON.parse(events[4]!.lambdaFunctionSucceededEventDetails!.output!)).toEqual({ name: 'ordered', count: 1 });
    const failed = events.find((event) => event.type === 'TaskFailed')!;
    expect(failed.taskFailedEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke', error: 'Busy' });
    expect(JSON.parse(failed.taskFailedEventDetails!.cause!)).toEqual({ errorType: 'Busy', errorMessage: 'try again' });
    const scheduled = events.find((event) => event.type === 'TaskScheduled')!;
    expect(JSON.parse(scheduled.taskScheduledEventDetails!.parameters!)).toMatchObject({ FunctionName: FLAKY_ARN });
    expect(scheduled.taskScheduledEventDetails!.region).toBe('us-east-1');
    const end = events.at(-1)!;
    expect(JSON.parse(end.executionSucceededEventDetails!.output!)).toEqual({ name: 'ordered', count: 2, flaky: 2 });
  });

  it('pages with maxResults and nextToken, newest first with reverseOrder, and leaves data out on request', async () => {
    const executionArn = await runToEnd('paged');
    const all = await allEvents(executionArn, 1000);
    expect(await allEvents(executionArn, 4)).toEqual(all);
    expect(await allEvents(executionArn, 5, true)).toEqual([...all].reverse());
    const first = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(first.events).toHaveLength(all.length);
    expect(first.nextToken).toBeUndefined();

    const bare = await client.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, maxResults: 3 }));
    expect(bare.events![0]!.executionStartedEventDetails).not.toHaveProperty('input');
    expect(bare.events![1]!.stateEnteredEventDetails).toEqual({ name: 'Step' });
    expect(bare.events![2]!.lambdaFunctionScheduledEventDetails).toEqual({ resource: STEP_ARN, timeoutInSeconds: 30 });
  });

  it('answers an unknown execution and a bad page size as the service does', async () => {
    await expect(client.send(new GetExecutionHistoryCommand({ executionArn: `${EXECUTION_PREFIX}nope` }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    const executionArn = await runToEnd('bad-page');
    await expect(client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1001 }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('maxResults'),
    });
  });
});

describe('the state machine', () => {
  it('is listed, and described as deployed, also through one of its executions', async () => {
    const { stateMachines, nextToken } = await client.send(new ListStateMachinesCommand({}));
    expect(nextToken).toBeUndefined();
    expect(stateMachines).toEqual([{ stateMachineArn: STATE_MACHINE_ARN, name: 'History', type: 'STANDARD', creationDate: expect.any(Date) }]);

    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: STATE_MACHINE_ARN }));
    expect(described).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: 'History', status: 'ACTIVE', type: 'STANDARD', roleArn: expect.any(String) });
    // The definition as given, not as adapted for the interpreter (no scaled waits, no capped timeouts).
    expect(JSON.parse(described.definition!)).toEqual(definition);

    const executionArn = await runToEnd('described');
    const forExecution = await client.send(new DescribeStateMachineForExecutionCommand({ executionArn }));
    expect(forExecution).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: 'History', definition: described.definition, updateDate: expect.any(Date) });

    await expect(
      client.send(new DescribeStateMachineCommand({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Other' })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(client.send(new DescribeStateMachineForExecutionCommand({ executionArn: `${EXECUTION_PREFIX}nope` }))).rejects.toBeInstanceOf(
      ExecutionDoesNotExist,
    );
  });
});
