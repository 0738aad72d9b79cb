import { CfnResource, Duration, Names, Token, Validations } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventDetailType, EVENT_SOURCE } from '#shared/events/bus.js';

/** How often EventBridge retries handing an event to the function, and for how long. */
const TARGET_RETRY_ATTEMPTS = 12;
const TARGET_MAX_EVENT_AGE = Duration.hours(6);
/** Lambda's own retries of an invocation the handler failed (transient DynamoDB or Step Functions errors). */
const HANDLER_RETRY_ATTEMPTS = 2;

export interface ReelhookEventIntakeProps {
  /** The bus pipelines put `Video Generation Requested` events on. */
  readonly eventBus: IEventBus;
  /** The intake function, which starts the generation the event describes. */
  readonly handler: IFunction;
  /**
   * The IAM principals (role or user ARNs, `*` and `?` wildcards as in `ArnLike`) that may
   * put `Video Generation Requested` events on the bus, i.e. start generations as any tenant.
   * Each still needs `events:PutEvents` on the bus in its own identity policy.
   * @default none: every request event is refused until the operator lists its senders
   */
  readonly requestPrincipalArns?: readonly string[];
}

/** What `aws:PrincipalArn` holds for a role (also when assumed), a user or an account's root. */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/\S+)$/;

function checkPrincipalArns(arns: readonly string[]): void {
  for (const arn of arns) {
    if (!Token.isUnresolved(arn) && !PRINCIPAL_ARN.test(arn)) {
      throw new Error(
        `requestPrincipalArns must hold IAM role or user ARNs (arn:aws:iam::<account>:role/<name>), got '${arn}'`,
      );
    }
  }
}

/**
 * Lets pipelines start generations with an EventBridge event: a rule on the bus for
 * detail-type `Video Generation Requested` from source `reelhook` invokes the
 * intake function. Who may put that source is the bus's resource policy: a Deny for every
 * principal but `requestPrincipalArns`, which binds inside the bus's own account too (an
 * explicit deny wins over any identity policy's allow). Nothing is lost
 * silently: an event EventBridge cannot deliver within its retry policy, and an event
 * the handler still fails after Lambda's retries, both land in one dead-letter queue.
 *
 * @example
 * const intake = new ReelhookEventIntake(this, 'Intake', { eventBus, handler: intakeFunction });
 * intake.deadLetterQueue.metricApproximateNumberOfMessagesVisible();
 */
export class ReelhookEventIntake extends Construct {
  public readonly rule: Rule;
  public readonly deadLetterQueue: Queue;
  /** The bus policy statement (AWS::Events::EventBusPolicy) that keeps everyone but the listed principals from putting requests. */
  public readonly senderPolicy: CfnResource;

  constructor(scope: Construct, id: string, props: ReelhookEventIntakeProps) {
    super(scope, id);
    const principalArns = props.requestPrincipalArns ?? [];
    checkPrincipalArns(principalArns);

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's maximum: time for an operator to inspect and replay.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the intake rule target and of the intake function; ' +
        'its messages are kept 14 days and the stack alarms as soon as one arrives.',
    });

    this.rule = new Rule(this, 'GenerationRequested', {
      eventBus: props.eventBus,
      description: `reelhook: start a generation for each Video Generation Requested event from ${EVENT_SOURCE}`,
      // An api_key_id is not a secret: only the source the bus policy guards may act as a tenant.
      eventPattern: { source: [EVENT_SOURCE], detailType: [EventDetailType.Requested] },
      targets: [
        new LambdaFunction(props.handler, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: TARGET_RETRY_ATTEMPTS,
          // A request still starts after a few hours' outage; older ones wait in the queue for a person.
          maxEventAge: TARGET_MAX_EVENT_AGE,
        }),
      ],
    });

    // One statement of the bus's policy, so it lives beside whatever else the bus allows.
    // A plain CfnResource: CfnEventBusPolicy (and the EventBusPolicy built on it) prints a
    // deprecation warning for its unused `principal` property on every synth.
    this.senderPolicy = new CfnResource(this, 'RequestSenders', {
      type: 'AWS::Events::EventBusPolicy',
      properties: {
        EventBusName: props.eventBus.eventBusName,
        StatementId: Names.uniqueResourceName(this, { maxLength: 64 }),
        Statement: {
          Effect: 'Deny',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: props.eventBus.eventBusArn,
          Condition: {
            // Any entry of the call that is a request (one PutEvents carries up to 10); the
            // keys AND, so reelhook's own outgoing events under the same source pass.
            'ForAnyValue:StringEquals': { 'events:source': [EVENT_SOURCE], 'events:detail-type': [EventDetailType.Requested] },
            ...(principalArns.length > 0 && { ArnNotLike: { 'aws:PrincipalArn': [...principalArns] } }),
          },
        },
      },
    });

    props.handler.configureAsyncInvoke({
      retryAttempts: HANDLER_RETRY_ATTEMPTS,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
  }
}
