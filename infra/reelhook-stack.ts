import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ReelhookOrchestrator, type ReelhookOrchestratorProps } from './orchestrator.js';

/** Construct id of the stack in the app; local mode synthesizes the same one. */
export const REELHOOK_STACK_ID = 'Reelhook';

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

    this.orchestrator = new ReelhookOrchestrator(this, 'Orchestrator', props);
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
