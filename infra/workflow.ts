import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  JitterType,
  LogLevel,
  type RetryProps,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { GenerationErrorName, RETRYABLE_STEP_ERRORS } from '../functions/shared/errors.js';

/**
 * Lambda service faults worth retrying. `retryOnServiceExceptions` covers all but
 * throttling and adds no jitter, so the workflow declares its own retrier.
 */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

/** The copy streams a whole video; it gets Lambda's maximum run time. */
export const COPY_TIMEOUT = Duration.minutes(15);

const LAMBDA_SERVICE_RETRY: RetryProps = {
  errors: [...LAMBDA_SERVICE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  jitterStrategy: JitterType.FULL,
};

function stepRetry(error: GenerationErrorName, retry: Omit<RetryProps, 'errors' | 'jitterStrategy'>): RetryProps {
  if (!RETRYABLE_STEP_ERRORS.includes(error)) {
    throw new Error(`${error} is not a retryable step error (RETRYABLE_STEP_ERRORS)`);
  }
  return { errors: [error], jitterStrategy: JitterType.FULL, ...retry };
}

export interface ReelhookWorkflowProps {
  /** Submits the generation to the provider. */
  readonly createFunction: IFunction;
  /** Polls the provider once. */
  readonly statusFunction: IFunction;
  /** Streams the finished video into the bucket. */
  readonly copyFunction: IFunction;
  /** Writes the outcome to the record and picks the webhook event. */
  readonly recordFunction: IFunction;
  /** Delivers the webhook once. */
  readonly notifyFunction: IFunction;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The generation workflow, a Standard state machine in JSONPath (the local engine runs
 * this very definition, read back from the synthesized template):
 *
 * Delivery Only? → Submit Generation → Wait For Provider → Check Status → Provider Finished? (loop) →
 * Copy Video → Record Completion → Notify Callback → Callback Settled? (retry loop) →
 * Generation Outcome?. Any provider or copy failure goes to Record Failure, which
 * notifies too; a failing callback never fails the generation. An execution started
 * with a `notification` in its input (cancel, redelivery) only runs the delivery loop.
 *
 * @example
 * const workflow = new ReelhookWorkflow(this, 'Workflow', { createFunction, statusFunction,
 *   copyFunction, recordFunction, notifyFunction });
 * workflow.stateMachine.grantStartExecution(apiFunction);
 */
export class ReelhookWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ReelhookWorkflowProps) {
    super(scope, id);

    const invoke = (
      stateName: string,
      fn: IFunction,
      payload: Record<string, unknown>,
      resultPath: string,
      taskTimeout?: Timeout,
    ) => {
      const task = LambdaInvoke.jsonPath(this, stateName, {
        lambdaFunction: fn,
        // Resource is the function ARN and the result is the handler's return value.
        payloadResponseOnly: true,
        payload: TaskInput.fromObject(payload),
        resultPath,
        taskTimeout,
        retryOnServiceExceptions: false,
      });
      task.addRetry(LAMBDA_SERVICE_RETRY);
      return task;
    };
    const generationId = { 'generation_id.$': '$.generation_id' };

    const recordFailure = invoke(
      'Record Failure',
      props.recordFunction,
      { ...generationId, outcome: 'error', 'failure.$': '$.failure' },
      '$.notification',
    );
    const catchToFailure = { resultPath: '$.failure', errors: [Errors.ALL] };

    const submit = invoke('Submit Generation', props.createFunction, generationId, '$.poll');
    submit.addRetry(
      stepRetry(GenerationErrorName.ProviderUnavailable, {
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(60),
      }),
    );
    submit.addCatch(recordFailure, catchToFailure);

    const waitForProvider = Wait.jsonPath(this, 'Wait For Provider', {
      time: WaitTime.timestampPath('$.poll.next_check_at'),
    });

    const checkStatus = invoke('Check Status', props.statusFunction, { ...generationId, 'poll.$': '$.poll' }, '$.poll');
    checkStatus.addRetry(
      stepRetry(GenerationErrorName.ProviderUnavailable, {
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 5,
      }),
    );
    checkStatus.addCatch(recordFailure, catchToFailure);

    // Without an explicit timeout the local engine would stop the copy after its 60 s default.
    const copyVideo = invoke('Copy Video', props.copyFunction, generationId, '$.video', Timeout.duration(COPY_TIMEOUT));
    copyVideo.addRetry(
      stepRetry(GenerationErrorName.CopyFailed, {
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 3,
      }),
    );
    copyVideo.addCatch(recordFailure, catchToFailure);

    const recordCompletion = invoke(
      'Record Completion',
      props.recordFunction,
      { ...generationId, outcome: 'completed', 'video.$': '$.video' },
      '$.notification',
    );

    const notify = invoke(
      'Notify Callback',
      props.notifyFunction,
      { ...generationId, 'notification.$': '$.notification' },
      '$.delivery',
    );
    // Only a failed generation fails the execution; a delivery-only run of another event succeeds.
    const outcome = Choice.jsonPath(this, 'Generation Outcome?')
      .when(
        Condition.stringEquals('$.notification.outcome', 'error'),
        Fail.jsonPath(this, 'Generation Failed', {
          errorPath: '$.notification.error_name',
          causePath: '$.notification.error_message',
        }),
      )
      .otherwise(Succeed.jsonPath(this, 'Generation Completed'));
    notify.addCatch(outcome, { resultPath: '$.delivery_error', errors: [Errors.ALL] });
    const waitForCallbackRetry = Wait.jsonPath(this, 'Wait For Callback Retry', {
      time: WaitTime.timestampPath('$.delivery.next_attempt_at'),
    });
    notify.next(
      Choice.jsonPath(this, 'Callback Settled?')
        .when(Condition.booleanEquals('$.delivery.done', true), outcome)
        .otherwise(waitForCallbackRetry.next(notify)),
    );
    recordCompletion.next(notify);
    recordFailure.next(notify);

    submit
      .next(waitForProvider)
      .next(checkStatus)
      .next(
        Choice.jsonPath(this, 'Provider Finished?')
          .when(Condition.stringEquals('$.poll.status', 'completed'), copyVideo.next(recordCompletion))
          .otherwise(waitForProvider),
      );
    // Cancel and redelivery start an execution that carries the event to deliver: it
    // goes straight to the durable delivery loop instead of a second provider job.
    const definition = Choice.jsonPath(this, 'Delivery Only?')
      .when(Condition.isPresent('$.notification'), notify)
      .otherwise(submit);

    const logGroupPrefix = '/aws/vendedlogs/states/';
    this.logGroup = new LogGroup(this, 'Logs', {
      // The vendedlogs prefix keeps the log group's resource policy under its size limit.
      logGroupName: `${logGroupPrefix}${Names.uniqueResourceName(this, { maxLength: 512 - logGroupPrefix.length })}`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Named log groups that outlive their stack block the next deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ERROR, includeExecutionData: false },
    });
  }
}
