import { Duration } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { EXECUTION_STATUS_CHANGE, SLOT_RELEASING_STATUSES } from '#shared/facts.js';

export interface ReelhookSlotReleaseProps {
  /** The generation workflow's state machine ARN. */
  readonly stateMachineArn: string;
  /** The function that releases the slot of the run's generation. */
  readonly handler: IFunction;
}

/**
 * Gives back the provider slot of a run that ended without doing it: a stopped,
 * timed-out or failed execution, which AWS announces with an "Execution Status Change"
 * event on the account's default bus. The slot's lease is the backstop should even this
 * be lost, so no dead-letter queue is needed.
 *
 * @example
 * new ReelhookSlotRelease(this, 'SlotRelease', { stateMachineArn, handler: releaseFunction });
 */
export class ReelhookSlotRelease extends Construct {
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ReelhookSlotReleaseProps) {
    super(scope, id);
    // Step Functions sends its events to the account's default bus only.
    this.rule = new Rule(this, 'ExecutionEnded', {
      eventBus: EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      description: 'reelhook: release the provider slot of a generation run that was stopped, timed out or failed',
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { stateMachineArn: [props.stateMachineArn], status: [...SLOT_RELEASING_STATUSES] },
      },
      targets: [new LambdaFunction(props.handler, { retryAttempts: 10, maxEventAge: Duration.hours(2) })],
    });
  }
}
