import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEngineOptions, LocalStepFunctions } from '../../local/stepfunctions/engine.js';

const ACCOUNT = '123456789012';
const STATE_MACHINE_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:Generation`;
const SUBMIT_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:submit`;
const CHECK_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:check`;
const RECORD_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:record`;

class ProviderUnavailable extends Error {
  override name = 'ProviderUnavailable';
}
class ValidationError extends Error {
  override name = 'ValidationError';
}

/** Submit → wait until told → check, looping until done; both Task forms, Retry, Catch, Fail, Succeed. */
const definition = {
  StartAt: 'Submit Job',
  States: {
    'Submit Job': {
      Type: 'Task',
      Resource: SUBMIT_ARN,
      Parameters: {
        'jobId.$': '$.jobId',
        'plan.$': '$.plan',
        'executionId.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        'executionInput.$': '$$.Execution.Input',
        'startTime.$': '$$.Execution.StartTime',
        'stateMachineId.$': '$$.StateMachine.Id',
      },
      ResultPath: '$.job',
      Next: 'Wait For Job',
    },
    'Wait For Job': { Type: 'Wait', TimestampPath: '$.job.checkAt', Next: 'Check Job' },
    'Check Job': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: CHECK_ARN, 'Payload.$': '$.job' },
      ResultSelector: { 'jobId.$': '$.Payload.jobId', 'plan.$': '$.Payload.plan', 'status.$': '$.Payload.status', 'checkAt.$': '$.Payload.checkAt', 'polls.$': '$.Payload.polls' },
      ResultPath: '$.job',
      Retry: [
        { ErrorEquals: ['ProviderUnavailable'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 3, MaxDelaySeconds: 10, JitterStrategy: 'FULL' },
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Record Failure' }],
      Next: 'Job Done?',
    },
    'Job Done?': {
      Type: 'Choice',
      Choices: [
        { Variable: '$.job.status', StringEquals: 'done', Next: 'Settle' },
        { Variable: '$.job.status', StringEquals: 'rejected', Next: 'Rejected' },
      ],
      Default: 'Wait For Job',
    },
    Settle: { Type: 'Wait', Seconds: 30, Next: 'Done' },
    Done: { Type: 'Succeed', OutputPath: '$.job' },
    'Record Failure': {
      Type: 'Task',
      Resource: RECORD_ARN,
      Parameters: { 'jobId.$': '$.jobId', 'failure.$': '$.failure' },
      ResultPath: null,
      Next: 'Failed',
    },
    Rejected: { Type: 'Fail', Error: 'ProviderRejected', Cause: 'The provider rejected the prompt' },
    Failed: { Type: 'Fail', Error: 'JobFailed', Cause: 'The job could not be completed' },
  },
};

interface Job {
  jobId: string;
  plan: { polls: number; unavailable?: number; reject?: boolean; invalid?: boolean };
  status: string;
  checkAt: string;
  polls: number;
}

/** A fake provider: each job succeeds after `plan.polls` checks, after failing as planned. */
function provider() {
  const submitted: unknown[] = [];
  const checks = new Map<string, number>();
  const recorded: unknown[] = [];
  const handlers: LocalEngineOptions['lambdaHandlers'] = {
    [SUBMIT_ARN]: async (event) => {
      submitted.push(event);
      const { jobId, plan } = event as Pick<Job, 'jobId' | 'plan'>;
      if (plan.invalid) throw new ValidationError(`job ${jobId} is invalid`);
      return { jobId, plan, status: 'queued', checkAt: new Date().toISOString(), polls: 0 };
    },
    [CHECK_ARN]: async (event) => {
      const job = event as Job;
      const attempt = (checks.get(job.jobId) ?? 0) + 1;
      checks.set(job.jobId, attempt);
      if (attempt <= (job.plan.unavailable ?? 0)) throw new ProviderUnavailable(`provider busy (attempt ${attempt})`);
      if (job.plan.reject) return { ...job, status: 'rejected' };
      const polls = job.polls + 1;
      return { ...job, polls, status: polls >= job.plan.polls ? 'done' : 'running', checkAt: new Date().toISOString() };
    },
    [RECORD_ARN]: async (event) => {
      recorded.push(event);
      return { recorded: true };
    },
  };
  return { handlers, submitted, checks, recorded };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let workDir: string;
let journals = 0;
const engines: LocalStepFunctions[] = [];

function newEngine(overrides: Partial<LocalEngineOptions> = {}): LocalStepFunctions {
  const engine = new LocalStepFunctions({
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: provider().handlers,
    waitScale: 0,
    journalPath: join(workDir, `journal-${++journals}.ndjson`),
    ...overrides,
  });
  engines.push(engine);
  return engine;
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-engine-'));
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('LocalStepFunctions', () => {
  it('runs the polling loop to success and returns the final state output', async () => {
    const fake = provider();
    const engine = newEngine({ lambdaHandlers: fake.handlers });
    const input = JSON.stringify({ jobId: 'job-1', plan: { polls: 3 } });

    const { executionArn, startDate } = engine.startExecution('job-1', input);
    await engine.idle();

    const execution = engine.describeExecution(executionArn);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', name: 'job-1', input, stateMachineArn: STATE_MACHINE_ARN });
    expect(JSON.parse(execution.output ?? 'null')).toMatchObject({ jobId: 'job-1', status: 'done', polls: 3 });
    expect(execution.stopDate?.getTime()).toBeGreaterThanOrEqual(startDate.getTime());
    expect(engine.stateEntries()).toEqual({ 'Submit Job': 1, 'Wait For Job': 3, 'Check Job': 3, 'Job Done?': 3, Settle: 1, Done: 1 });
  });

  it('gives Task states the execution context object', async () => {
    const fake = provider();
    const engine = newEngine({ lambdaHandlers: fake.handlers });
    const input = { jobId: 'job-ctx', plan: { polls: 1 } };

    const { executionArn, startDate } = engine.startExecution('job-ctx', JSON.stringify(input));
    await engine.idle();

    expect(fake.submitted).toEqual([
      {
        jobId: 'job-ctx',
        plan: { polls: 1 },
        executionId: executionArn,
        executionName: 'job-ctx',
        executionInput: input,
        startTime: startDate.toISOString(),
        stateMachineId: STATE_MACHINE_ARN,
      },
    ]);
    expect(executionArn).toBe(`arn:aws:states:us-east-1:${ACCOUNT}:execution:Generation:job-ctx`);
  });

  it('retries a named error instantly with waitScale 0 and then succeeds', async () => {
    const fake = provider();
    const engine = newEngine({ lambdaHandlers: fake.handlers });
    const began = Date.now();

    // Unscaled, these three retries would wait up to 2 + 6 + 10 seconds.
    const { executionArn } = engine.startExecution('flaky', JSON.stringify({ jobId: 'flaky', plan: { polls: 1, unavailable: 3 } }));
    await engine.idle();

    expect(engine.describeExecution(executionArn).status).toBe('SUCCEEDED');
    expect(fake.checks.get('flaky')).toBe(4);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('catches an exhausted retry with the Lambda-shaped Error and Cause', async () => {
    const fake = provider();
    const engine = newEngine({ lambdaHandlers: fake.handlers });

    const { executionArn } = engine.startExecution('down', JSON.stringify({ jobId: 'down', plan: { polls: 1, unavailable: 99 } }));
    await engine.idle();

    expect(fake.checks.get('down')).toBe(4);
    expect(fake.recorded).toEqual([
      {
        jobId: 'down',
        failure: {
          Error: 'ProviderUnavailable',
          Cause: JSON.stringify({ errorType: 'ProviderUnavailable', errorMessage: 'provider busy (attempt 4)' }),
        },
      },
    ]);
    expect(engine.describeExecution(executionArn)).toMatchObject({
      status: 'FAILED',
      error: 'JobFailed',
      cause: 'The job could not be completed',
    });
  });

  it('fails the execution with the error name and Lambda-shaped cause when nothing catches it', async () => {
    const engine = newEngine();

    const { executionArn } = engine.startExecution('invalid', JSON.stringify({ jobId: 'invalid', plan: { polls: 1, invalid: true } }));
    await engine.idle();

    const execution = engine.describeExecution(executionArn);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(JSON.parse(execution.cause ?? '')).toEqual({ errorType: 'ValidationError', errorMessage: 'job invalid is invalid' });
    expect(execution.output).toBeUndefined();
  });

  it('ends at a Fail state with its Error and Cause', async () => {
    const engine = newEngine();

    const { executionArn } = engine.startExecution('rejected', JSON.stringify({ jobId: 'rejected', plan: { polls: 1, reject: true } }));
    await engine.idle();

    expect(engine.describeExecution(executionArn)).toMatchObject({
      status: 'FAILED',
      error: 'ProviderRejected',
      cause: 'The provider rejected the prompt',
    });
  });

  it('runs 100 concurrent executions to success', async () => {
    const engine = newEngine();

    const arns = Array.from({ length: 100 }, (_, i) =>
      engine.startExecution(`job-${i}`, JSON.stringify({ jobId: `job-${i}`, plan: { polls: 5, unavailable: i % 3 } })).executionArn,
    );
    await engine.idle();

    expect(arns.map((arn) => engine.describeExecution(arn).status)).toEqual(arns.map(() => 'SUCCEEDED'));
    expect(engine.listExecutions('SUCCEEDED')).toHaveLength(100);
    expect(engine.stateEntries()['Check Job']).toBe(500);
  });

  it('returns the running execution when started again with the same name and input', async () => {
    const engine = newEngine({ lambdaHandlers: { ...provider().handlers, [CHECK_ARN]: () => new Promise(() => {}) } });
    const input = JSON.stringify({ jobId: 'same', plan: { polls: 1 } });

    const first = engine.startExecution('same', input);
    const again = engine.startExecution('same', input);

    expect(again).toEqual(first);
    expect(() => engine.startExecution('same', JSON.stringify({ jobId: 'other', plan: { polls: 1 } }))).toThrow(
      expect.objectContaining({ name: 'ExecutionAlreadyExists' }),
    );
    expect(engine.listExecutions()).toHaveLength(1);
  });

  it('refuses to start again an execution that has ended, as AWS does', async () => {
    const engine = newEngine();
    const input = JSON.stringify({ jobId: 'ended', plan: { polls: 1 } });
    engine.startExecution('ended', input);
    await engine.idle();

    expect(() => engine.startExecution('ended', input)).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
  });

  it('rejects invalid names and inputs with the service error names', () => {
    const engine = newEngine();

    expect(() => engine.startExecution('has space', '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
    expect(() => engine.startExecution('x'.repeat(81), '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
    expect(() => engine.startExecution('bad-input', '{nope')).toThrow(expect.objectContaining({ name: 'InvalidExecutionInput' }));
  });

  it('stops a running execution as ABORTED with the given error and cause, catching nothing', async () => {
    let checking = false;
    const fake = provider();
    const engine = newEngine({
      lambdaHandlers: {
        ...fake.handlers,
        [CHECK_ARN]: () => {
          checking = true;
          return new Promise(() => {});
        },
      },
    });
    const { executionArn } = engine.startExecution('stop-me', JSON.stringify({ jobId: 'stop-me', plan: { polls: 1 } }));
    await waitFor(() => checking);

    const { stopDate } = engine.stopExecution(executionArn, 'Cancelled', 'cancelled by the user');
    await engine.idle();

    expect(engine.describeExecution(executionArn)).toMatchObject({ status: 'ABORTED', stopDate, error: 'Cancelled', cause: 'cancelled by the user' });
    expect(engine.listExecutions('RUNNING')).toEqual([]);
    // The Catch of the interrupted Task does not run: a stopped execution goes no further.
    expect(fake.recorded).toEqual([]);
  });

  it('reports an unknown execution as ExecutionDoesNotExist', () => {
    const engine = newEngine();

    expect(() => engine.describeExecution(`${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:nope`)).toThrow(
      expect.objectContaining({ name: 'ExecutionDoesNotExist' }),
    );
  });

  it('refuses at construction a Task whose function has no handler, naming the state', () => {
    const { [RECORD_ARN]: _missing, ...handlers } = provider().handlers;

    expect(() => newEngine({ lambdaHandlers: handlers })).toThrow(/"Record Failure".*function:record/);
  });

  it('times a Task out after its own TimeoutSeconds', async () => {
    const engine = newEngine({
      definition: {
        StartAt: 'Slow',
        States: {
          Slow: { Type: 'Task', Resource: SUBMIT_ARN, TimeoutSeconds: 1, End: true },
        },
      },
      lambdaHandlers: { [SUBMIT_ARN]: () => new Promise(() => {}) },
    });

    const { executionArn } = engine.startExecution('slow', '{}');
    await engine.idle();

    expect(engine.describeExecution(executionArn)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('times the execution out after the definition TimeoutSeconds', async () => {
    const engine = newEngine({
      definition: { TimeoutSeconds: 1, StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: SUBMIT_ARN, End: true } } },
      lambdaHandlers: { [SUBMIT_ARN]: () => new Promise(() => {}) },
    });

    const { executionArn } = engine.startExecution('too-long', '{}');
    await engine.idle();

    expect(engine.describeExecution(executionArn)).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });
});

describe('Lambda Task forms', () => {
  it('gives each form exactly what Lambda would receive and the result shape Step Functions builds', async () => {
    const received: Record<string, unknown[]> = { submit: [], check: [] };
    const engine = newEngine({
      definition: {
        StartAt: 'Plain',
        States: {
          Plain: {
            Type: 'Task',
            Resource: SUBMIT_ARN,
            InputPath: '$.request',
            Parameters: { 'prompt.$': '$.prompt', fixed: 1 },
            ResultPath: '$.plain',
            Next: 'Invoke',
          },
          Invoke: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: `${CHECK_ARN}:$LATEST`, 'Payload.$': '$.plain' },
            ResultPath: '$.invoked',
            End: true,
          },
        },
      },
      lambdaHandlers: {
        [SUBMIT_ARN]: async (event) => {
          received.submit?.push(event);
          return { id: 'j1', when: new Date(0) };
        },
        [CHECK_ARN]: async (event) => {
          received.check?.push(event);
          return undefined;
        },
      },
    });

    const { executionArn } = engine.startExecution('forms', JSON.stringify({ request: { prompt: 'a cat', extra: true } }));
    await engine.idle();

    expect(received).toEqual({ submit: [{ prompt: 'a cat', fixed: 1 }], check: [{ id: 'j1', when: '1970-01-01T00:00:00.000Z' }] });
    expect(JSON.parse(engine.describeExecution(executionArn).output ?? 'null')).toEqual({
      request: { prompt: 'a cat', extra: true },
      plain: { id: 'j1', when: '1970-01-01T00:00:00.000Z' },
      invoked: { ExecutedVersion: '$LATEST', Payload: null, StatusCode: 200 },
    });
  });

  it('runs Task states nested in Parallel branches and Map iterations, with the execution input in context', async () => {
    const seen: unknown[] = [];
    const engine = newEngine({
      definition: {
        StartAt: 'Fan Out',
        States: {
          'Fan Out': {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Each Item',
                States: {
                  'Each Item': {
                    Type: 'Map',
                    ItemsPath: '$.items',
                    ItemProcessor: {
                      StartAt: 'Handle Item',
                      States: {
                        'Handle Item': {
                          Type: 'Task',
                          Resource: SUBMIT_ARN,
                          Parameters: { 'item.$': '$', 'all.$': '$$.Execution.Input.items' },
                          End: true,
                        },
                      },
                    },
                    End: true,
                  },
                },
              },
            ],
            End: true,
          },
        },
      },
      lambdaHandlers: {
        [SUBMIT_ARN]: async (event) => {
          seen.push(event);
          return (event as { item: number }).item * 10;
        },
      },
    });

    const { executionArn } = engine.startExecution('nested', JSON.stringify({ items: [1, 2] }));
    await engine.idle();

    expect(engine.describeExecution(executionArn).output).toBe('[[10,20]]');
    expect(seen).toEqual(expect.arrayContaining([{ item: 1, all: [1, 2] }, { item: 2, all: [1, 2] }]));
  });
});
