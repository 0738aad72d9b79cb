import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Pass,
  Result,
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
import { EVENT_PUBLISH_FAILED, GenerationErrorName, RETRYABLE_STEP_ERRORS } from '#shared/errors.js';
import { acknowledgeWildcardResource } from './nag.js';
import { Env } from '#shared/facts.js';
import { StatePath } from '#shared/workflow/steps.js';

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

/**
 * The Copy Video Task's own timeout: a minute past the function's. Step Functions' clock
 * starts before the function's (it includes the invocation and a cold start), so a Task
 * timeout equal to the function's can fire first, as `States.Timeout`, which the copy's
 * Retry does not cover. With the margin the copy ends first, with the retried CopyFailed
 * it throws before its own deadline (functions/copy/deadline.ts).
 */
const COPY_TASK_TIMEOUT = COPY_TIMEOUT.plus(Duration.seconds(60));

/**
 * Backstop for an execution that never ends (a bug, a Wait on a far timestamp). The
 * longest designed run is about 2.2 days: a 24 h generation, the copy with its retries
 * (about 1 h), then the webhook schedule (about 27.6 h with jitter, Retry-After capped).
 * An execution still running after 7 days times out, which the stack alarms on.
 */
const EXECUTION_TIMEOUT = Duration.days(7);

const LAMBDA_SERVICE_RETRY: RetryProps = {
  errors: [...LAMBDA_SERVICE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  jitterStrategy: JitterType.FULL,
};

/** PutEvents failing: the steps that publish (submit, record) throw this and are run again. */
const EVENT_PUBLISH_RETRY: RetryProps = {
  errors: [EVENT_PUBLISH_FAILED],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  jitterStrategy: JitterType.FULL,
};

/** 5 s doubling to 1 h between attempts: 30 attempts span about 26 h. */
const NOTIFY_STEP_RETRY: RetryProps = {
  errors: [Errors.ALL],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: 30,
  maxDelay: Duration.hours(1),
  jitterStrategy: JitterType.FULL,
};

function stepRetry(error: GenerationErrorName, retry: Omit<RetryProps, 'errors' | 'jitterStrategy'>): RetryProps {
  if (!RETRYABLE_STEP_ERRORS.includes(error)) {
    throw new Error(`${error} is not a retryable step error (RETRYABLE_STEP_ERRORS)`);
  }
  return { errors: [error], jitterStrategy: JitterType.FULL, ...retry };
}

/** A crash of the admission step (DynamoDB, Step Functions) is tried again before the generation fails. */
const ADMIT_STEP_RETRY: RetryProps = {
  errors: [Errors.TASKS_FAILED],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 3,
  jitterStrategy: JitterType.FULL,
};

/** What a generation that never got a provider slot before its deadline reports. */
const QUEUE_TIMEOUT_MESSAGE = 'the generation waited for a provider slot past its timeout_seconds; no provider job was made';

export interface ReelhookWorkflowProps {
  /** Queues the generation for a provider slot (a task-token wait). */
  readonly admitFunction: IFunction;
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
  /**
   * The state machine's name. Fixed, so that its ARN can be built without a reference to
   * the state machine, which lets the create function (a task of the state machine)
   * start executions of it without a CloudFormation cycle.
   * @default a name derived from the construct path, unique in the stack's account and region
   */
  readonly stateMachineName?: string;
}

/**
 * The generation workflow, a Standard state machine in JSONPath (the local engine runs
 * this very definition, read back from the synthesized template):
 *
 * Delivery Only? → Wait For Provider Slot (a task token: resumed when a slot is free, never
 * polled) → Submit Generation → Wait For Provider → Check Status → Provider Finished? (loop;
 * after a 429 on the create, the wait is its Retry-After, Check Status passes the plan on
 * and the run goes to Queue Again → Wait For Provider Slot) →
 * Copy Video → Record Completion → Notify Callback → Callback Settled? (retry loop) →
 * Generation Outcome?. Any provider or copy failure goes to Record Failure, which
 * notifies too; a failing callback never fails the generation. An execution started
 * with a `notification` in its input (cancel, redelivery) only runs the delivery loop.
 *
 * @example
 * const workflow = new ReelhookWorkflow(this, 'Workflow', { createFunction, statusFunction,
 *   copyFunction, recordFunction, notifyFunction });
 * workflow.grantStartExecution(apiFunction);
 */
export class ReelhookWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly logGroup: LogGroup;
  public readonly stateMachineName: string;
  /** The state machine's ARN built from its name: safe to use from any function without a cycle. */
  public readonly stateMachineArn: string;
  /** Every execution of this state machine (`…:execution:<name>:*`). */
  public readonly executionsArn: string;

  constructor(scope: Construct, id: string, props: ReelhookWorkflowProps) {
    super(scope, id);

    this.stateMachineName =
      props.stateMachineName ?? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(this.stateMachineName)) {
      throw new Error(
        `stateMachineName must be 1 to 80 letters, digits, '-' or '_', got '${this.stateMachineName}'`,
      );
    }
    const stack = Stack.of(this);
    const arnFor = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachineArn = arnFor('stateMachine', this.stateMachineName);
    this.executionsArn = arnFor('execution', `${this.stateMachineName}:*`);

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
    const generationId = { 'generation_id.$': StatePath.GenerationId };

    const recordFailure = invoke(
      'Record Failure',
      props.recordFunction,
      { ...generationId, outcome: 'error', 'failure.$': StatePath.Failure },
      StatePath.Notification,
    );
    recordFailure.addRetry(EVENT_PUBLISH_RETRY);
    const catchToFailure = { resultPath: StatePath.Failure, errors: [Errors.ALL] };

    // The wait's own timeout is the generation's remaining time: TimedOut while queued needs no watcher.
    const waitForSlot = LambdaInvoke.jsonPath(this, 'Wait For Provider Slot', {
      lambdaFunction: props.admitFunction,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({ ...generationId, task_token: JsonPath.taskToken }),
      resultPath: StatePath.Admitted,
      taskTimeout: Timeout.at(StatePath.AdmissionTimeoutSeconds),
      retryOnServiceExceptions: false,
    });
    waitForSlot.addRetry(LAMBDA_SERVICE_RETRY);
    waitForSlot.addRetry(ADMIT_STEP_RETRY);
    const queueTimedOut = Pass.jsonPath(this, 'Queue Timed Out', {
      result: Result.fromObject({ Error: GenerationErrorName.TimedOut, Cause: JSON.stringify({ errorMessage: QUEUE_TIMEOUT_MESSAGE }) }),
      resultPath: StatePath.Failure,
    });
    queueTimedOut.next(recordFailure);
    waitForSlot.addCatch(queueTimedOut, { resultPath: StatePath.Failure, errors: [Errors.TIMEOUT] });
    waitForSlot.addCatch(recordFailure, catchToFailure);

    const submit = invoke('Submit Generation', props.createFunction, generationId, StatePath.Poll);
    submit.addRetry(
      stepRetry(GenerationErrorName.ProviderUnavailable, {
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(60),
      }),
    );
    submit.addRetry(EVENT_PUBLISH_RETRY);
    submit.addCatch(recordFailure, catchToFailure);

    const waitForProvider = Wait.jsonPath(this, 'Wait For Provider', {
      time: WaitTime.timestampPath(StatePath.NextCheckAt),
    });

    const checkStatus = invoke('Check Status', props.statusFunction, { ...generationId, 'poll.$': StatePath.Poll }, StatePath.Poll);
    checkStatus.addRetry(
      stepRetry(GenerationErrorName.ProviderUnavailable, {
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 5,
      }),
    );
    checkStatus.addCatch(recordFailure, catchToFailure);

    const copyVideo = invoke('Copy Video', props.copyFunction, generationId, StatePath.Video, Timeout.duration(COPY_TASK_TIMEOUT));
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
      { ...generationId, outcome: 'completed', 'video.$': StatePath.Video },
      StatePath.Notification,
    );
    recordCompletion.addRetry(EVENT_PUBLISH_RETRY);

    const notify = invoke(
      'Notify Callback',
      props.notifyFunction,
      { ...generationId, 'notification.$': StatePath.Notification },
      StatePath.Delivery,
    );
    // Only a failed generation fails the execution; a delivery-only run of another event succeeds.
    const outcome = Choice.jsonPath(this, 'Generation Outcome?')
      .when(
        Condition.stringEquals(StatePath.NotificationOutcome, 'error'),
        Fail.jsonPath(this, 'Generation Failed', {
          errorPath: StatePath.NotificationErrorName,
          causePath: StatePath.NotificationErrorMessage,
        }),
      )
      .otherwise(Succeed.jsonPath(this, 'Generation Completed'));
    // A crash or a fault of the notify step itself (DynamoDB, presigning, a runtime exit) is
    // not the receiver's answer: the attempt runs again, for about as long as the webhook
    // schedule, before the execution gives the delivery up.
    notify.addRetry(NOTIFY_STEP_RETRY);
    notify.addCatch(outcome, { resultPath: StatePath.DeliveryError, errors: [Errors.ALL] });
    const waitForCallbackRetry = Wait.jsonPath(this, 'Wait For Callback Retry', {
      time: WaitTime.timestampPath(StatePath.NextAttemptAt),
    });
    notify.next(
      Choice.jsonPath(this, 'Callback Settled?')
        .when(Condition.booleanEquals(StatePath.DeliveryDone, true), outcome)
        .otherwise(waitForCallbackRetry.next(notify)),
    );
    recordCompletion.next(notify);
    recordFailure.next(notify);

    // A 429 made no job: Wait For Provider waits its Retry-After, Check Status passes the
    // plan on, and the run queues again for the time left. Through the polling loop rather
    // than a Choice after Submit Generation: every generation would pay that transition.
    const queueAgain = Pass.jsonPath(this, 'Queue Again', {
      parameters: { ...generationId, admission: { 'timeout_seconds.$': StatePath.QueueTimeoutSeconds } },
    });
    waitForSlot.next(submit);
    submit.next(waitForProvider);
    waitForProvider
      .next(checkStatus)
      .next(
        Choice.jsonPath(this, 'Provider Finished?')
          .when(Condition.stringEquals(StatePath.PollStatus, 'completed'), copyVideo.next(recordCompletion))
          .when(Condition.stringEquals(StatePath.PollStatus, 'busy'), queueAgain.next(waitForSlot))
          .otherwise(waitForProvider),
      );
    // Cancel and redelivery start an execution that carries the event to deliver: it
    // goes straight to the durable delivery loop instead of a second provider job.
    const definition = Choice.jsonPath(this, 'Delivery Only?')
      .when(Condition.isPresent(StatePath.Notification), notify)
      .otherwise(waitForSlot);

    const logGroupPrefix = '/aws/vendedlogs/states/';
    this.logGroup = new LogGroup(this, 'Logs', {
      // The vendedlogs prefix keeps the log group's resource policy under its size limit.
      logGroupName: `${logGroupPrefix}${Names.uniqueResourceName(this, { maxLength: 512 - logGroupPrefix.length })}`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Named log groups that outlive their stack block the next deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      timeout: EXECUTION_TIMEOUT,
      tracingEnabled: true,
      // Every transition, for the audit trail; never the payloads, which hold prompts and metadata.
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs ' +
        'delivery (logs:CreateLogDelivery and friends) support no resource-level permissions, so IAM ' +
        'requires Resource "*" for them; Step Functions documents exactly these statements.',
    });
    const tasks = [
      props.admitFunction,
      props.createFunction,
      props.statusFunction,
      props.copyFunction,
      props.recordFunction,
      props.notifyFunction,
    ];
    for (const fn of new Set(tasks)) {
      acknowledgeWildcardResource(
        this.stateMachine,
        `${fn.functionArn}:*`,
        "CDK's LambdaInvoke grants the function and its versions and aliases (`<arn>:*`); the definition " +
          'invokes only the unqualified ARN, and the pattern matches nothing but this one function.',
      );
    }
  }

  /**
   * Lets the grantee start executions, hands it the ARN in `STATE_MACHINE_ARN`.
   *
   * @example
   * workflow.grantStartExecution(createFunction);
   */
  public grantStartExecution(grantee: LambdaFunction): void {
    grantee.addEnvironment(Env.StateMachineArn, this.stateMachineArn);
    grantee.addToRolePolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachineArn] }),
    );
  }

  /**
   * Lets the grantee resume a task waiting for its token (a provider slot handed over).
   *
   * @example
   * workflow.grantTaskSuccess(statusFunction);
   */
  public grantTaskSuccess(grantee: LambdaFunction): void {
    grantee.addToRolePolicy(new PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachineArn] }));
  }

  /**
   * Lets the grantee stop this state machine's executions (a cancel stops `<id>`).
   *
   * @example
   * workflow.grantStopExecution(apiFunction);
   */
  public grantStopExecution(grantee: LambdaFunction): void {
    grantee.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:StopExecution'],
        resources: [this.executionsArn],
      }),
    );
    acknowledgeWildcardResource(
      grantee.role ?? grantee,
      this.executionsArn,
      'Executions are named per generation at run time (`<id>`, `<id>-started`, `<id>-cancel`, ' +
        '`<id>-redeliver-<n>`), so they cannot be listed in advance; the pattern covers only the executions ' +
        'of this one state machine, and the only action is StopExecution.',
    );
  }

  /**
   * Lets the grantee read the history of this state machine's executions (GET …/history reads `<id>`'s).
   *
   * @example
   * workflow.grantReadHistory(apiFunction);
   */
  public grantReadHistory(grantee: LambdaFunction): void {
    grantee.addToRolePolicy(new PolicyStatement({ actions: ['states:GetExecutionHistory'], resources: [this.executionsArn] }));
    acknowledgeWildcardResource(
      grantee.role ?? grantee,
      this.executionsArn,
      'A generation\'s execution is named by its id at run time, so it cannot be listed in advance; the pattern ' +
        'covers only the executions of this one state machine, and this grant adds only GetExecutionHistory (a read).',
    );
  }
}
