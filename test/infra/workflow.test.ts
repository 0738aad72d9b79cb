import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_PUBLISH_FAILED, GenerationErrorName } from '#shared/errors.js';
import { LOCAL_NAMES } from '../../local/names.js';
import { type AslDefinition, withAwsTaskTimeouts } from '../../local/stepfunctions/definition.js';
import { type LocalManifest, loadLocalManifest } from '../../local/template/manifest.js';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}
interface Catcher {
  ErrorEquals: string[];
  ResultPath?: string;
  Next: string;
}
interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string;
  TimeoutSeconds?: number;
  TimestampPath?: string;
  Retry?: Retrier[];
  Catch?: Catcher[];
  Choices?: Array<Record<string, unknown>>;
  Default?: string;
  ErrorPath?: string;
  CausePath?: string;
}

const TASKS = [
  'Wait For Provider Slot',
  'Submit Generation',
  'Check Status',
  'Copy Video',
  'Record Completion',
  'Record Failure',
  'Notify Callback',
];
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
];

let manifest: LocalManifest;
let states: Record<string, State>;

beforeAll(async () => {
  manifest = await loadLocalManifest(LOCAL_NAMES);
  states = manifest.definition.States as Record<string, State>;
});

function state(name: string): State {
  const found = states[name];
  if (!found) throw new Error(`no state named ${name}`);
  return found;
}

function functionArn(entry: string): string | undefined {
  return manifest.functions.find((fn) => fn.entry === entry)?.arn;
}

describe('shape', () => {
  it('uses JSONPath, starts by choosing between a generation and a delivery, and has exactly the designed states', () => {
    expect(manifest.definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(manifest.definition.StartAt).toBe('Delivery Only?');
    expect(state('Delivery Only?')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.notification', IsPresent: true, Next: 'Notify Callback' }],
      Default: 'Wait For Provider Slot',
    });
    expect(Object.keys(states).sort()).toEqual(
      [
        ...TASKS,
        'Delivery Only?',
        'Queue Timed Out',
        'Queue Again',
        'Wait For Provider',
        'Provider Finished?',
        'Callback Settled?',
        'Wait For Callback Retry',
        'Generation Outcome?',
        'Generation Completed',
        'Generation Failed',
      ].sort(),
    );
  });

  it('links the states: submit, poll until completed, copy, record, notify, settle', () => {
    const next = Object.fromEntries(Object.entries(states).map(([name, s]) => [name, s.Next]));
    expect(next).toMatchObject({
      'Wait For Provider Slot': 'Submit Generation',
      'Submit Generation': 'Wait For Provider',
      'Queue Again': 'Wait For Provider Slot',
      'Queue Timed Out': 'Record Failure',
      'Wait For Provider': 'Check Status',
      'Check Status': 'Provider Finished?',
      'Copy Video': 'Record Completion',
      'Record Completion': 'Notify Callback',
      'Record Failure': 'Notify Callback',
      'Notify Callback': 'Callback Settled?',
      'Wait For Callback Retry': 'Notify Callback',
    });
    expect(state('Provider Finished?')).toMatchObject({
      Type: 'Choice',
      Choices: [
        { Variable: '$.poll.status', StringEquals: 'completed', Next: 'Copy Video' },
        { Variable: '$.poll.status', StringEquals: 'busy', Next: 'Queue Again' },
      ],
      Default: 'Wait For Provider',
    });
    expect(state('Callback Settled?')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.delivery.done', BooleanEquals: true, Next: 'Generation Outcome?' }],
      Default: 'Wait For Callback Retry',
    });
    expect(state('Generation Outcome?')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.notification.outcome', StringEquals: 'error', Next: 'Generation Failed' }],
      Default: 'Generation Completed',
    });
    expect(state('Generation Completed').Type).toBe('Succeed');
    expect(state('Generation Failed')).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.notification.error_name',
      CausePath: '$.notification.error_message',
    });
  });

  it('times an execution out after 7 days, far past the longest designed run', () => {
    expect(manifest.definition.TimeoutSeconds).toBe(7 * 86_400);
  });

  it('waits for the provider and for callback retries until the timestamps the handlers return', () => {
    expect(state('Wait For Provider')).toMatchObject({ Type: 'Wait', TimestampPath: '$.poll.next_check_at' });
    expect(state('Wait For Callback Retry')).toMatchObject({
      Type: 'Wait',
      TimestampPath: '$.delivery.next_attempt_at',
    });
  });
});

describe('tasks', () => {
  it('invokes each function directly and passes only the fields it needs', () => {
    const generationId = { 'generation_id.$': '$.generation_id' };
    const expected: Record<string, [string, Record<string, unknown>, string]> = {
      'Submit Generation': ['create', generationId, '$.poll'],
      'Check Status': ['status', { ...generationId, 'poll.$': '$.poll' }, '$.poll'],
      'Copy Video': ['copy', generationId, '$.video'],
      'Record Completion': [
        'record',
        { ...generationId, outcome: 'completed', 'video.$': '$.video' },
        '$.notification',
      ],
      'Record Failure': ['record', { ...generationId, outcome: 'error', 'failure.$': '$.failure' }, '$.notification'],
      'Notify Callback': ['notify', { ...generationId, 'notification.$': '$.notification' }, '$.delivery'],
    };
    for (const [name, [fn, parameters, resultPath]] of Object.entries(expected)) {
      const arn = functionArn(`functions/${fn}/handler.ts`);
      expect(arn, fn).toBeDefined();
      expect(state(name), name).toMatchObject({
        Type: 'Task',
        Resource: arn,
        Parameters: parameters,
        ResultPath: resultPath,
      });
    }
  });

  it.each(TASKS)('retries Lambda service exceptions, throttling included, with full jitter in %s', (name) => {
    expect(state(name).Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: LAMBDA_SERVICE_ERRORS, JitterStrategy: 'FULL' }),
    );
  });

  it('retries an unavailable provider on submit and on status checks', () => {
    expect(state('Submit Generation').Retry).toContainEqual({
      ErrorEquals: [GenerationErrorName.ProviderUnavailable],
      IntervalSeconds: 2,
      BackoffRate: 2,
      MaxAttempts: 6,
      MaxDelaySeconds: 60,
      JitterStrategy: 'FULL',
    });
    expect(state('Check Status').Retry).toContainEqual({
      ErrorEquals: [GenerationErrorName.ProviderUnavailable],
      IntervalSeconds: 5,
      BackoffRate: 2,
      MaxAttempts: 5,
      JitterStrategy: 'FULL',
    });
  });

  it.each(['Submit Generation', 'Record Completion', 'Record Failure'])('retries a failed event publication in %s', (name) => {
    expect(state(name).Retry).toContainEqual({
      ErrorEquals: [EVENT_PUBLISH_FAILED],
      IntervalSeconds: 2,
      BackoffRate: 2,
      MaxAttempts: 5,
      JitterStrategy: 'FULL',
    });
  });

  it('retries a failed copy', () => {
    expect(state('Copy Video').Retry).toContainEqual({
      ErrorEquals: [GenerationErrorName.CopyFailed],
      IntervalSeconds: 5,
      BackoffRate: 2,
      MaxAttempts: 3,
      JitterStrategy: 'FULL',
    });
  });

  it('gives the copy Task a minute more than the copy function, whose own deadline then comes first', () => {
    const copyFunction = manifest.functions.find((fn) => fn.entry === 'functions/copy/handler.ts');
    expect(copyFunction?.timeoutSeconds).toBe(900);
    expect(state('Copy Video').Resource).toBe(copyFunction?.arn);
    expect(state('Copy Video').TimeoutSeconds).toBeGreaterThan(copyFunction!.timeoutSeconds);
    expect(state('Copy Video').TimeoutSeconds).toBe(960);
  });

  it.each(['Submit Generation', 'Check Status', 'Copy Video'])('sends every error of %s to Record Failure', (name) => {
    expect(state(name).Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Record Failure' },
    ]);
  });

  it('never fails the generation because the callback failed', () => {
    expect(state('Notify Callback').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.delivery_error', Next: 'Generation Outcome?' },
    ]);
  });
});

describe('execution on the local engine', () => {
  type Handler = (input: never) => unknown;
  type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

  function run(handlers: Record<string, Handler>) {
    // As the local engine runs it: AWS's reading of TimeoutSecondsPath (from the state input).
    const machine = new StateMachine(withAwsTaskTimeouts(manifest.definition as unknown as AslDefinition) as unknown as StateMachineDefinition);
    const zero = (names: string[]) => Object.fromEntries(names.map((name) => [name, 0]));
    const execution = machine.run(
      { generation_id: 'gen_test', admission: { timeout_seconds: 600 } },
      {
        // What Step Functions puts at $$.Task.Token for a `.waitForTaskToken` Task.
        context: { Task: { Token: 'token_test' } },
        overrides: {
          // The stubs take the handlers' typed payloads; the engine passes plain JSON.
          taskResourceLocalHandlers: handlers as unknown as LocalHandlers,
          waitTimeOverrides: zero(['Wait For Provider', 'Wait For Callback Retry']),
          retryIntervalOverrides: zero(TASKS),
        },
      },
    );
    return execution.result;
  }

  const soon = () => new Date(Date.now() + 1000).toISOString();
  const providerError = (name: string, message: string) => Object.assign(new Error(message), { name });

  it('polls until the provider completes, copies, records and settles the callback', async () => {
    let polls = 0;
    let deliveries = 0;
    const output = (await run({
      'Wait For Provider Slot': () => ({ admitted: true }),
      'Submit Generation': () => ({ status: 'pending', next_check_at: soon(), wait_seconds: 1, polls: 0 }),
      'Check Status': () => {
        polls += 1;
        return { status: polls < 2 ? 'pending' : 'completed', next_check_at: soon(), wait_seconds: 1, polls };
      },
      'Copy Video': () => ({ s3_uri: 's3://reelhook-videos/videos/gen_test.mp4' }),
      'Record Completion': (input: { outcome: string; video: unknown }) => ({
        outcome: input.outcome,
        event_type: 'generation.completed',
        webhook_id: 'msg_1',
        video: input.video,
      }),
      'Notify Callback': () => {
        deliveries += 1;
        return deliveries < 2 ? { done: false, next_attempt_at: soon() } : { done: true };
      },
    })) as Record<string, unknown>;

    expect(polls).toBe(2);
    expect(deliveries).toBe(2);
    expect(output).toMatchObject({
      generation_id: 'gen_test',
      video: { s3_uri: 's3://reelhook-videos/videos/gen_test.mp4' },
      notification: { outcome: 'completed', video: { s3_uri: 's3://reelhook-videos/videos/gen_test.mp4' } },
      delivery: { done: true },
    });
  });

  it('records a provider failure, notifies and fails with the recorded error name', async () => {
    let recorded: unknown;
    const result = run({
      'Wait For Provider Slot': () => ({ admitted: true }),
      'Submit Generation': () => ({ status: 'pending', next_check_at: soon(), wait_seconds: 1, polls: 0 }),
      'Check Status': () => {
        throw providerError(GenerationErrorName.ProviderFailed, 'content policy');
      },
      'Record Failure': (input: { failure: { Error: string; Cause: string } }) => {
        recorded = input;
        return {
          outcome: 'error',
          event_type: 'generation.failed',
          webhook_id: 'msg_2',
          error_name: input.failure.Error,
          error_message: 'content policy',
        };
      },
      'Notify Callback': () => {
        throw new Error('callback unreachable');
      },
    });

    await expect(result).rejects.toMatchObject({
      cause: { name: GenerationErrorName.ProviderFailed, message: 'content policy' },
    });
    expect(recorded).toMatchObject({
      generation_id: 'gen_test',
      outcome: 'error',
      failure: { Error: GenerationErrorName.ProviderFailed },
    });
  });

  const failedRecord = (input: { failure: { Error: string; Cause: string } }) => ({
    outcome: 'error',
    event_type: 'generation.failed',
    webhook_id: 'msg_3',
    error_name: input.failure.Error,
    error_message: JSON.parse(input.failure.Cause).errorMessage,
  });

  it('queues again after a 429 for the time the create step says is left, with the task token each time', async () => {
    const waits: unknown[] = [];
    let submits = 0;
    await run({
      'Wait For Provider Slot': (input: unknown) => {
        waits.push(input);
        return { admitted: true };
      },
      'Submit Generation': () => {
        submits += 1;
        return submits === 1
          ? { status: 'busy', next_check_at: soon(), wait_seconds: 5, polls: 0, queue_timeout_seconds: 590 }
          : { status: 'pending', next_check_at: soon(), wait_seconds: 1, polls: 0 };
      },
      // As the status step does: a busy plan goes on unchanged.
      'Check Status': (input: { poll: { status: string } }) =>
        input.poll.status === 'busy' ? input.poll : { status: 'completed', next_check_at: soon(), wait_seconds: 0, polls: 1 },
      'Copy Video': () => ({}),
      'Record Completion': () => ({ outcome: 'completed', event_type: 'generation.completed', webhook_id: 'msg_1' }),
      'Notify Callback': () => ({ done: true }),
    });
    expect(submits).toBe(2);
    // The Task's parameters: the Lambda payload, and (local engine) the timeout read from the state input.
    expect(waits).toEqual([
      expect.objectContaining({ Payload: { generation_id: 'gen_test', task_token: 'token_test' }, ReelhookTimeoutSeconds: 600 }),
      expect.objectContaining({ Payload: { generation_id: 'gen_test', task_token: 'token_test' }, ReelhookTimeoutSeconds: 590 }),
    ]);
    expect(state('Wait For Provider Slot')).toMatchObject({
      Resource: expect.stringMatching(/:states:::lambda:invoke\.waitForTaskToken$/),
      TimeoutSecondsPath: '$.admission.timeout_seconds',
    });
    expect(state('Queue Again')).toMatchObject({
      Type: 'Pass',
      Parameters: { 'generation_id.$': '$.generation_id', admission: { 'timeout_seconds.$': '$.poll.queue_timeout_seconds' } },
    });
  });

  it('ends a generation whose wait for a slot timed out as TimedOut, through Record Failure', async () => {
    let recorded: { failure: { Error: string; Cause: string } } | undefined;
    const result = run({
      'Wait For Provider Slot': () => {
        throw providerError('States.Timeout', 'task timed out');
      },
      'Record Failure': (input: { failure: { Error: string; Cause: string } }) => {
        recorded = input;
        return failedRecord(input);
      },
      'Notify Callback': () => ({ done: true }),
    });
    await expect(result).rejects.toMatchObject({ cause: { name: GenerationErrorName.TimedOut } });
    expect(recorded?.failure.Error).toBe(GenerationErrorName.TimedOut);
    expect(JSON.parse(recorded!.failure.Cause).errorMessage).toMatch(/provider slot past its timeout_seconds; no provider job was made/);
  });
});
