import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/runtime/observability.js';
import { ENTRY_METADATA_KEY } from '#shared/facts.js';

/** The folders under `functions/` that hold a `handler.ts`. */
export type ReelhookFunctionName = 'api' | 'intake' | 'admit' | 'create' | 'status' | 'copy' | 'record' | 'notify' | 'release';

/**
 * Metadata key on each `AWS::Lambda::Function` naming its source entry, repo-relative
 * with forward slashes, so local mode (local/template/manifest.ts) runs the same code that deploys.
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface ReelhookFunctionProps {
  /** Which `functions/<name>/handler.ts` to bundle. */
  readonly name: ReelhookFunctionName;
  /**
   * Memory in MB; Lambda allots CPU and network in proportion to it.
   * @default 256
   */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Powertools log level of the handler.
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * A reelhook Lambda function with the project's defaults: Node.js 22 on ARM64, an ESM
 * bundle made by the local esbuild (no Docker), source maps, active tracing, the
 * Powertools settings, its own log group with a retention, and its own role that may
 * write to that log group and nothing else until a grant says so.
 *
 * @example
 * const status = new ReelhookFunction(this, 'Status', { name: 'status', timeout: Duration.minutes(2) });
 * table.grantReadData(status.lambdaFunction);
 */
export class ReelhookFunction extends Construct {
  public readonly lambdaFunction: NodejsFunction;
  public readonly logGroup: LogGroup;
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: ReelhookFunctionProps) {
    super(scope, id);

    const entry = `functions/${props.name}/handler.ts`;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs go with the stack; the data that matters lives in the table and bucket.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole, which may write to every log group.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });

    this.lambdaFunction = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
      bundling: {
        format: OutputFormat.ESM,
        // No `target`: esbuild's follows the runtime (node24), so the two cannot drift apart.
        // Prefer the ESM build of dependencies that ship both, so tree-shaking works.
        mainFields: ['module', 'main'],
        // Bundled CJS dependencies (aws-xray-sdk-core among them) call `require`, which ESM lacks.
        banner:
          "import { createRequire as __reelhookCreateRequire } from 'node:module'; " +
          'const require = __reelhookCreateRequire(import.meta.url);',
        // Nothing external: ship the exact @aws-sdk/* versions the tests ran against,
        // not whatever the Lambda runtime happens to include.
        externalModules: [],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need only the mappings; embedded sources would bloat the asset.
        sourcesContent: false,
      },
    });
    this.logGroup.grantWrite(this.role);

    (this.lambdaFunction.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA_KEY, entry);

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
        'permissions, so IAM requires Resource "*" for them; every other statement names its resource.',
    });
  }
}
