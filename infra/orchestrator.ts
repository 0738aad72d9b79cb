import { Token } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ReelhookHttpApi } from './http-api.js';
import { ReelhookFunction, type ReelhookFunctionName, type ReelhookFunctionProps } from './lambda-function.js';
import { ReelhookStorage, VIDEO_PREFIX } from './storage.js';
import { COPY_TIMEOUT, ReelhookWorkflow } from './workflow.js';

export interface ReelhookOrchestratorProps {
  /**
   * Base URL of the AI/ML API (point it at a mock or proxy for testing).
   * @default 'https://api.aimlapi.com'
   */
  readonly aimlapiBaseUrl?: string;
  /**
   * Largest video the copy step accepts; bigger ones fail with `InvalidVideo`.
   * @default 2 GiB
   */
  readonly maxVideoBytes?: number;
  /**
   * Retention of the functions' and the state machine's logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

const DEFAULT_AIMLAPI_BASE_URL = 'https://api.aimlapi.com';
const DEFAULT_MAX_VIDEO_BYTES = 2 * 1024 ** 3;

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol);
}

/**
 * All of reelhook in one construct: storage, the six functions, the generation
 * workflow and the HTTP API, each function granted only what its step needs.
 *
 * @example
 * const reelhook = new ReelhookOrchestrator(this, 'Reelhook', { maxVideoBytes: 512 * 1024 ** 2 });
 * new CfnOutput(this, 'ApiUrl', { value: reelhook.api.httpApi.apiEndpoint });
 */
export class ReelhookOrchestrator extends Construct {
  public readonly storage: ReelhookStorage;
  public readonly functions: Readonly<Record<ReelhookFunctionName, NodejsFunction>>;
  public readonly workflow: ReelhookWorkflow;
  public readonly api: ReelhookHttpApi;

  constructor(scope: Construct, id: string, props: ReelhookOrchestratorProps = {}) {
    super(scope, id);

    const aimlapiBaseUrl = props.aimlapiBaseUrl ?? DEFAULT_AIMLAPI_BASE_URL;
    if (!Token.isUnresolved(aimlapiBaseUrl) && !isHttpUrl(aimlapiBaseUrl)) {
      throw new Error(`aimlapiBaseUrl must be an http(s) URL, got '${aimlapiBaseUrl}'`);
    }
    const maxVideoBytes = props.maxVideoBytes ?? DEFAULT_MAX_VIDEO_BYTES;
    if (!Number.isSafeInteger(maxVideoBytes) || maxVideoBytes <= 0) {
      throw new Error(`maxVideoBytes must be a positive integer, got ${maxVideoBytes}`);
    }

    this.storage = new ReelhookStorage(this, 'Storage');
    const { table, bucket, providerSecret } = this.storage;

    type Sizing = Pick<ReelhookFunctionProps, 'memorySize' | 'timeout'>;
    const build = (constructId: string, name: ReelhookFunctionName, sizing: Sizing = {}) =>
      new ReelhookFunction(this, constructId, { name, logRetention: props.logRetention, ...sizing }).lambdaFunction;
    this.functions = {
      // 256 MB / 30 s: routing, validation and a few DynamoDB calls; HTTP API gives up after 30 s anyway.
      api: build('Api', 'api'),
      // 256 MB / 30 s: one provider request with its own timeouts, then a DynamoDB write.
      create: build('Create', 'create'),
      // 256 MB / 30 s: one provider poll and a DynamoDB write.
      status: build('Status', 'status'),
      // 1024 MB / 15 min: streams a whole video through multipart upload parts held in memory
      // while hashing it; Lambda's network and CPU share grow with memory.
      copy: build('Copy', 'copy', { memorySize: 1024, timeout: COPY_TIMEOUT }),
      // 256 MB / 30 s: one conditional DynamoDB update and a presigned URL.
      record: build('Record', 'record'),
      // 256 MB / 30 s: one webhook attempt (10 s limit per contract) plus its bookkeeping.
      notify: build('Notify', 'notify'),
    };
    const { api, create, status, copy, record, notify } = this.functions;

    this.workflow = new ReelhookWorkflow(this, 'Workflow', {
      createFunction: create,
      statusFunction: status,
      copyFunction: copy,
      recordFunction: record,
      notifyFunction: notify,
      logRetention: props.logRetention,
    });
    const { stateMachine } = this.workflow;

    this.api = new ReelhookHttpApi(this, 'Http', { handler: api });

    const videoObjects = bucket.arnForObjects(`${VIDEO_PREFIX}*`);
    const allowOnVideos = (grantee: IGrantable, actions: string[]) =>
      grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [videoObjects] }));

    // Every step reads and writes the generation record; bucket access is granted per step below.
    for (const fn of Object.values(this.functions)) {
      fn.addEnvironment('TABLE_NAME', table.tableName);
      table.grantReadWriteData(fn);
      fn.addEnvironment('BUCKET_NAME', bucket.bucketName);
    }

    for (const fn of [create, status]) {
      fn.addEnvironment('AIMLAPI_BASE_URL', aimlapiBaseUrl);
      fn.addEnvironment('AIMLAPI_SECRET_ARN', providerSecret.secretArn);
      providerSecret.grantRead(fn);
    }

    copy.addEnvironment('REELHOOK_MAX_VIDEO_BYTES', String(maxVideoBytes));
    allowOnVideos(copy, ['s3:PutObject', 's3:AbortMultipartUpload']);

    // Presigned download URLs carry the signer's permissions.
    for (const fn of [api, record, notify]) allowOnVideos(fn, ['s3:GetObject']);

    api.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
    stateMachine.grantStartExecution(api);
    stateMachine.grantExecution(api, 'states:DescribeExecution', 'states:StopExecution');
  }
}
