import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The folders under `functions/` that hold a `handler.ts`. */
export type ReelhookFunctionName = 'api' | 'create' | 'status' | 'copy' | 'record' | 'notify';

/**
 * Metadata key on each `AWS::Lambda::Function` naming its source entry, repo-relative
 * with forward slashes, so local mode (local/template.ts) runs the same code that deploys.
 */
const ENTRY_METADATA_KEY = 'reelhook:entry';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface ReelhookFunctionProps {
  /** Which `functions/<name>/handler.ts` to bundle. */
  readonly name: ReelhookFunctionName;
  /**
   * Memory in MB; Lambda allots CPU in proportion to it.
   * @default 256
   */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * A reelhook Lambda function with the project's defaults: Node.js 22 on ARM64, an ESM
 * bundle made by the local esbuild (no Docker), source maps, active tracing and its own
 * log group with a retention.
 *
 * @example
 * const status = new ReelhookFunction(this, 'Status', { name: 'status' });
 * table.grantReadWriteData(status.lambdaFunction);
 */
export class ReelhookFunction extends Construct {
  public readonly lambdaFunction: NodejsFunction;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ReelhookFunctionProps) {
    super(scope, id);

    const entry = `functions/${props.name}/handler.ts`;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs go with the stack; the data that matters lives in the table and bucket.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.lambdaFunction = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        // Prefer the ESM build of dependencies that ship both, so tree-shaking works.
        mainFields: ['module', 'main'],
        // Bundled CJS dependencies call `require`, which ESM lacks.
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

    (this.lambdaFunction.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA_KEY, entry);
  }
}
