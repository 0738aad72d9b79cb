import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ReelhookOrchestrator, type ReelhookOrchestratorProps } from './orchestrator.js';

/** Construct id of the stack in the app; local mode synthesizes the same one. */
export const REELHOOK_STACK_ID = 'Reelhook';

/**
 * Context key listing who may put `Video Generation Requested` events: a JSON array in
 * cdk.json, or comma-separated with `cdk deploy -c reelhook:requestPrincipalArns=arn:…,arn:…`.
 */
export const REQUEST_PRINCIPALS_CONTEXT = 'reelhook:requestPrincipalArns';

function principalArnsFromContext(scope: Construct): string[] | undefined {
  const value: unknown = scope.node.tryGetContext(REQUEST_PRINCIPALS_CONTEXT);
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(',').map((arn) => arn.trim()).filter((arn) => arn !== '') : value;
  if (!Array.isArray(list) || !list.every((arn): arn is string => typeof arn === 'string')) {
    throw new Error(`context ${REQUEST_PRINCIPALS_CONTEXT} must be a list of IAM ARNs (a JSON array, or comma-separated), got ${JSON.stringify(value)}`);
  }
  return list;
}

export interface ReelhookStackProps extends StackProps, ReelhookOrchestratorProps {}

/**
 * The deployable reelhook stack: the orchestrator plus the outputs the CLI and README
 * point users at.
 *
 * @example
 * new ReelhookStack(new App(), REELHOOK_STACK_ID, { recordRetention: Duration.days(90) });
 */
export class ReelhookStack extends Stack {
  public readonly orchestrator: ReelhookOrchestrator;

  constructor(scope: Construct, id: string, props: ReelhookStackProps = {}) {
    super(scope, id, { description: 'reelhook: durable text-to-video generations with signed webhooks', ...props });

    this.orchestrator = new ReelhookOrchestrator(this, 'Orchestrator', {
      ...props,
      requestPrincipalArns: props.requestPrincipalArns ?? principalArnsFromContext(this),
    });
    const { storage, workflow, api, eventBus, monitoring, intake } = this.orchestrator;

    new CfnOutput(this, 'ApiUrl', { value: api.httpApi.apiEndpoint, description: 'Base URL; the API lives under /v2' });
    new CfnOutput(this, 'TableName', { value: storage.table.tableName });
    new CfnOutput(this, 'BucketName', { value: storage.bucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ProviderSecretArn', {
      value: storage.providerSecret.secretArn,
      description: 'Put your AI/ML API key in this secret',
    });
    new CfnOutput(this, 'EventBusName', {
      value: eventBus.eventBusName,
      description: 'Where Video Generation events are published and Video Generation Requested is taken from',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: intake.deadLetterQueue.queueUrl,
      description: 'Requested generations that could not be started',
    });
    new CfnOutput(this, 'DashboardName', { value: monitoring.dashboard.dashboardName });
  }
}
