import { Duration, Validations } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventDetailType } from '#shared/events/bus.js';

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
}

/**
 * Lets pipelines start generations with an EventBridge event: a rule on the bus for
 * detail-type `Video Generation Requested` invokes the intake function. Nothing is lost
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

  constructor(scope: Construct, id: string, props: ReelhookEventIntakeProps) {
    super(scope, id);

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
      description: 'reelhook: start a generation for each Video Generation Requested event',
      eventPattern: { detailType: [EventDetailType.Requested] },
      targets: [
        new LambdaFunction(props.handler, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: TARGET_RETRY_ATTEMPTS,
          // A request still starts after a few hours' outage; older ones wait in the queue for a person.
          maxEventAge: TARGET_MAX_EVENT_AGE,
        }),
      ],
    });

    props.handler.configureAsyncInvoke({
      retryAttempts: HANDLER_RETRY_ATTEMPTS,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
  }
}
