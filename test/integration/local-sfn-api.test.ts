import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSfnFixture, startLocalSfnFixture } from '../support/local-sfn.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import type { LocalSfnServer } from '../../local/stepfunctions/server.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Api';
const EXECUTION_PREFIX = 'arn:aws:states:us-east-1:123456789012:execution:Api:';
const POLL_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:poll';

/** Polls until `remaining` reaches 0; a job with `hold` waits in its Task until released. */
const definition = {
  StartAt: 'Poll',
  States: {
    Poll: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: POLL_ARN, 'Payload.$': '$' },
      OutputPath: '$.Payload',
      Next: 'Finished?',
    },
    'Finished?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.remaining', NumericEquals: 0, Next: 'Done' }],
      Default: 'Pause',
    },
    Pause: { Type: 'Wait', Seconds: 1, Next: 'Poll' },
    Done: { Type: 'Succeed' },
  },
};

let sfn: LocalSfnFixture;
let engine: LocalStepFunctions;
let server: LocalSfnServer;
let client: SFNClient;
const held = new Set<string>();

async function waitForStatus(executionArn: string, status: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status === status) return execution;
    if (Date.now() > deadline) throw new Error(`${executionArn} is ${execution.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  sfn = await startLocalSfnFixture('api', {
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: {
      [POLL_ARN]: async (event) => {
        const job = event as { name: string; remaining: number; hold?: boolean };
        if (job.hold) {
          held.add(job.name);
          return new Promise(() => {});
        }
        return { ...job, remaining: job.remaining - 1 };
      },
    },
    waitScale: 0,
  });
  ({ engine, server, client } = sfn);
});

afterAll(() => sfn?.close());

describe('local Step Functions API', () => {
  it('listens on loopback', () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('starts an execution and describes it through to success', async () => {
    const input = JSON.stringify({ name: 'api-1', remaining: 3 });

    const started = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'api-1', input }));
    const execution = await waitForStatus(started.executionArn ?? '', 'SUCCEEDED');

    expect(started.executionArn).toBe(`${EXECUTION_PREFIX}api-1`);
    expect(started.startDate).toBeInstanceOf(Date);
    expect(execution).toMatchObject({
      executionArn: `${EXECUTION_PREFIX}api-1`,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'api-1',
      status: 'SUCCEEDED',
      input,
      output: JSON.stringify({ name: 'api-1', remaining: 0 }),
      startDate: started.startDate,
    });
    expect(execution.stopDate?.getTime()).toBeGreaterThanOrEqual(started.startDate?.getTime() ?? Number.POSITIVE_INFINITY);
  });

  it('names an execution itself when no name is given', async () => {
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, input: JSON.stringify({ name: 'anon', remaining: 1 }) }));

    expect(started.executionArn).toMatch(new RegExp(`^${EXECUTION_PREFIX}[0-9a-f-]{36}$`));
    await waitForStatus(started.executionArn ?? '', 'SUCCEEDED');
  });

  it('stops a running execution', async () => {
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'held', input: JSON.stringify({ name: 'held', remaining: 1, hold: true }) }),
    );
    await waitForStatus(started.executionArn ?? '', 'RUNNING');

    const stopped = await client.send(new StopExecutionCommand({ executionArn: started.executionArn, error: 'Cancelled', cause: 'user asked' }));
    const execution = await waitForStatus(started.executionArn ?? '', 'ABORTED');

    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'user asked', stopDate: stopped.stopDate });
  });

  it('lists executions newest first, filtered by status and paged by maxResults', async () => {
    for (const name of ['list-a', 'list-b', 'list-c']) {
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input: JSON.stringify({ name, remaining: 1 }) }),
      );
      await waitForStatus(executionArn ?? '', 'SUCCEEDED');
    }

    const firstPage = await client.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'SUCCEEDED', maxResults: 2 }));
    const secondPage = await client.send(
      new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'SUCCEEDED', maxResults: 2, nextToken: firstPage.nextToken }),
    );
    const aborted = await client.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'ABORTED' }));

    expect(firstPage.executions?.map((execution) => execution.name)).toEqual(['list-c', 'list-b']);
    expect(firstPage.nextToken).toBeTypeOf('string');
    expect(secondPage.executions?.[0]?.name).toBe('list-a');
    expect(firstPage.executions?.[0]).toMatchObject({ status: 'SUCCEEDED', stateMachineArn: STATE_MACHINE_ARN });
    expect(firstPage.executions?.[0]?.startDate).toBeInstanceOf(Date);
    expect(aborted.executions?.map((execution) => execution.name)).toEqual(['held']);
  });

  it('throws ExecutionDoesNotExist for an unknown execution', async () => {
    const describing = client.send(new DescribeExecutionCommand({ executionArn: `${EXECUTION_PREFIX}missing` }));

    await expect(describing).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(describing).rejects.toMatchObject({ name: 'ExecutionDoesNotExist', $metadata: { httpStatusCode: 400 } });
  });

  it('throws ExecutionAlreadyExists for a reused name with another input', async () => {
    const starting = client.send(
      new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'api-1', input: JSON.stringify({ name: 'other', remaining: 1 }) }),
    );

    await expect(starting).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('throws StateMachineDoesNotExist for another state machine', async () => {
    const starting = client.send(new StartExecutionCommand({ stateMachineArn: `${STATE_MACHINE_ARN}Other`, name: 'x', input: '{}' }));

    await expect(starting).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.DeleteStateMachine' },
      body: '{}',
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('serves many concurrent starts', async () => {
    const names = Array.from({ length: 100 }, (_, i) => `burst-${i}`);

    const started = await Promise.all(
      names.map((name) => client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name, input: JSON.stringify({ name, remaining: 2 }) }))),
    );
    await engine.idle();

    const statuses = await Promise.all(started.map(({ executionArn }) => client.send(new DescribeExecutionCommand({ executionArn }))));
    expect(statuses.map((execution) => execution.status)).toEqual(names.map(() => 'SUCCEEDED'));
  });
});
