/**
 * What local mode runs, read out of the CDK app: the state machine definition exactly
 * as synthesized, each function's source entry and environment, and the table's keys.
 * Synthesis loads aws-cdk-lib and takes seconds, so the raw template is cached on disk,
 * keyed by the sources that shape it; resolving it for local names is cheap and runs
 * every time.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CreateTableInput } from '@aws-sdk/client-dynamodb';
import type { ReelhookStack } from '../infra/reelhook-stack.js';
import { z } from 'zod';

export interface LocalFunction {
  logicalId: string;
  /** `arn:aws:lambda:<region>:<account>:function:<logicalId>`, as the definition's Task states name it. */
  arn: string;
  /** Handler source, repo-relative (`functions/<name>/handler.ts`). */
  entry: string;
  /** The function's variables with Refs/GetAtts resolved to the local names. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface LocalManifest {
  /** The state machine's ASL with every token resolved. */
  definition: Record<string, unknown>;
  /** Every AWS::Lambda::Function carrying `reelhook:entry` metadata. */
  functions: LocalFunction[];
  /** The function behind the HTTP API's integration. */
  apiFunction: LocalFunction;
  table: { logicalId: string; createTableInput: Omit<CreateTableInput, 'TableName'> };
  bucketLogicalId: string;
  stateMachineLogicalId: string;
  secretLogicalId: string;
}

export interface LocalResourceNames {
  tableName: string;
  bucketName: string;
  stateMachineArn: string;
  secretArn: string;
  region: string;
  accountId: string;
}

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

/** The template holds something local mode cannot map to a local resource. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
/** Set on each function by infra/lambda-function.ts (not imported: that would load aws-cdk-lib). */
const ENTRY_METADATA_KEY = 'reelhook:entry';
/** Set by infra/storage.ts where a stack has more than one resource of a type (the videos and access-log buckets). */
const ROLE_METADATA_KEY = 'reelhook:role';
const CACHE_FORMAT = 1;

/**
 * Synthesizes the app's stack in-process (bundling skipped) and resolves it for local
 * mode: Lambda ARNs become `arn:aws:lambda:<region>:<account>:function:<LogicalId>`,
 * Refs/GetAtts of the table, bucket, state machine and secret become the local names, an
 * event bus keeps its name, and the state machine ARN built from its name becomes the local one.
 *
 * @example
 * const manifest = await loadLocalManifest({ tableName: 'reelhook', bucketName: 'reelhook-videos',
 *   stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook',
 *   secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:reelhook', region: 'us-east-1',
 *   accountId: '000000000000' });
 */
export async function loadLocalManifest(names: LocalResourceNames): Promise<LocalManifest> {
  return resolveLocalManifest(await loadTemplate(), names);
}

/**
 * The stack as `cdk synth` builds it (cdk.json's context), minus bundling and the
 * built-in CloudFormation validation, which `cdk synth` still runs.
 *
 * @example
 * const template = Template.fromStack(await createReelhookStack());
 */
export async function createReelhookStack(): Promise<ReelhookStack> {
  return (await buildApp()).stack;
}

async function buildApp(outdir?: string) {
  const [{ App }, { REELHOOK_STACK_ID, ReelhookStack }, cdkJson] = await Promise.all([
    import('aws-cdk-lib'),
    import('../infra/reelhook-stack.js'),
    readFile(join(REPO_ROOT, 'cdk.json'), 'utf8'),
  ]);
  const { context } = z.object({ context: z.record(z.string(), z.unknown()).default({}) }).parse(JSON.parse(cdkJson));
  const app = new App({
    builtinCloudFormationValidation: false,
    treeMetadata: false,
    outdir,
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
  return { app, stack: new ReelhookStack(app, REELHOOK_STACK_ID) };
}

async function synthesizeTemplate(): Promise<CfnTemplate> {
  const outdir = await mkdtemp(join(tmpdir(), 'reelhook-synth-'));
  try {
    const { app, stack } = await buildApp(outdir);
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The synthesized template, from the cache when the sources that shape it are unchanged. */
async function loadTemplate(): Promise<CfnTemplate> {
  // In the shared OS temp dir, one folder per checkout, so checkouts keep their own entry.
  const cacheDir = process.env.REELHOOK_DATA_DIR
    ? join(process.env.REELHOOK_DATA_DIR, 'cache')
    : join(tmpdir(), `reelhook-cache-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`);
  const file = join(cacheDir, `template-${await sourcesHash()}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CfnTemplate;
  } catch (error) {
    // Missing, or damaged by hand: synthesize afresh.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  const template = await synthesizeTemplate();
  await mkdir(cacheDir, { recursive: true });
  // Rename is atomic: a concurrent reader sees the whole file or none.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify(template));
  await rename(partial, file);
  // Templates of earlier sources are never read again.
  for (const name of await readdir(cacheDir)) {
    if (/^template-\w+\.json$/.test(name) && join(cacheDir, name) !== file) {
      await rm(join(cacheDir, name), { force: true });
    }
  }
  return template;
}

/** Hash of everything the template depends on: infra, the function sources, cdk.json, this file, aws-cdk-lib. */
async function sourcesHash(): Promise<string> {
  const tsUnder = async (dir: string, recursive: boolean) =>
    (await readdir(join(REPO_ROOT, dir), { recursive })).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
  const files = [
    ...(await tsUnder('infra', false)),
    ...(await tsUnder('functions', true)),
    'cdk.json',
    relative(REPO_ROOT, THIS_FILE),
    'node_modules/aws-cdk-lib/package.json',
  ].sort();
  const hash = createHash('sha256').update(`format ${CACHE_FORMAT}\n`);
  for (const file of files) {
    hash.update(`${file.split('\\').join('/')}\0`);
    hash.update(await readFile(join(REPO_ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

const functionProperties = z.object({
  Timeout: z.number().int().positive(),
  MemorySize: z.number().int().positive(),
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }).optional(),
});

const keySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }));
const tableProperties = z.object({
  KeySchema: keySchema,
  AttributeDefinitions: z.array(z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) })),
  BillingMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']).optional(),
  GlobalSecondaryIndexes: z
    .array(
      z.object({
        IndexName: z.string(),
        KeySchema: keySchema,
        Projection: z.object({
          ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
          NonKeyAttributes: z.array(z.string()).optional(),
        }),
      }),
    )
    .optional(),
});

/**
 * Resolves a synthesized template for local mode (see {@link loadLocalManifest}).
 * Throws {@link TemplateResolutionError} naming any token it cannot resolve.
 */
export function resolveLocalManifest(template: CfnTemplate, names: LocalResourceNames): LocalManifest {
  const resources = template.Resources;
  const only = (type: string, role?: string): string => {
    let ids = Object.keys(resources).filter((id) => resources[id]?.Type === type);
    if (ids.length > 1 && role !== undefined) {
      ids = ids.filter((id) => resources[id]?.Metadata?.[ROLE_METADATA_KEY] === role);
    }
    if (ids.length !== 1 || ids[0] === undefined) {
      const which = role === undefined ? type : `${type} with ${ROLE_METADATA_KEY} ${role}`;
      throw new TemplateResolutionError(`expected exactly one ${which} in the template, found ${ids.length}`);
    }
    return ids[0];
  };
  const tableId = only('AWS::DynamoDB::Table', 'table');
  const bucketId = only('AWS::S3::Bucket', 'videos');
  const stateMachineId = only('AWS::StepFunctions::StateMachine');
  const secretId = only('AWS::SecretsManager::Secret');
  const lambdaArn = (logicalId: string) => `arn:aws:lambda:${names.region}:${names.accountId}:function:${logicalId}`;
  // An event bus keeps its own name locally: the functions only pass it to PutEvents.
  const eventBusName = (logicalId: string): string | undefined => {
    const resource = resources[logicalId];
    const name = resource?.Properties?.Name;
    return resource?.Type === 'AWS::Events::EventBus' && typeof name === 'string' ? name : undefined;
  };
  // Functions that start executions get the state machine's ARN built from its fixed name
  // (no Ref, so that a task of the state machine can start it without a cycle).
  const stateMachineName = resources[stateMachineId]?.Properties?.StateMachineName;
  const deployedStateMachineArn =
    typeof stateMachineName === 'string'
      ? `arn:aws:states:${names.region}:${names.accountId}:stateMachine:${stateMachineName}`
      : undefined;

  const ref = (logicalId: string): string => {
    switch (logicalId) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return names.region;
      case 'AWS::AccountId':
        return names.accountId;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case tableId:
        return names.tableName;
      case bucketId:
        return names.bucketName;
      case stateMachineId:
        return names.stateMachineArn;
      case secretId:
        return names.secretArn;
    }
    if (resources[logicalId]?.Type === 'AWS::Lambda::Function') return logicalId;
    const busName = eventBusName(logicalId);
    if (busName !== undefined) return busName;
    throw new TemplateResolutionError(`cannot resolve {"Ref": "${logicalId}"} for local mode`);
  };
  const getAtt = (logicalId: string, attribute: string): string => {
    const type = resources[logicalId]?.Type;
    if (type === 'AWS::Lambda::Function' && attribute === 'Arn') return lambdaArn(logicalId);
    if (logicalId === tableId && attribute === 'Arn') {
      return `arn:aws:dynamodb:${names.region}:${names.accountId}:table/${names.tableName}`;
    }
    if (logicalId === bucketId && attribute === 'Arn') return `arn:aws:s3:::${names.bucketName}`;
    if (logicalId === stateMachineId && attribute === 'Arn') return names.stateMachineArn;
    if (logicalId === stateMachineId && attribute === 'Name') {
      return names.stateMachineArn.slice(names.stateMachineArn.lastIndexOf(':') + 1);
    }
    const busName = eventBusName(logicalId);
    if (busName !== undefined && attribute === 'Name') return busName;
    if (busName !== undefined && attribute === 'Arn') {
      return `arn:aws:events:${names.region}:${names.accountId}:event-bus/${busName}`;
    }
    throw new TemplateResolutionError(`cannot resolve {"Fn::GetAtt": ["${logicalId}", "${attribute}"]} for local mode`);
  };
  const resolveString = (value: unknown, where: string): string => {
    const resolved = resolveValue(value, where, { ref, getAtt });
    if (typeof resolved !== 'string') {
      throw new TemplateResolutionError(`${where} resolves to ${JSON.stringify(resolved)}, not a string`);
    }
    return resolved;
  };

  const functions: LocalFunction[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof entry !== 'string') continue;
    const props = functionProperties.parse(resource.Properties);
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(props.Environment?.Variables ?? {})) {
      const resolved = resolveString(value, `${logicalId} environment variable ${name}`);
      environment[name] = resolved === deployedStateMachineArn ? names.stateMachineArn : resolved;
    }
    functions.push({
      logicalId,
      arn: lambdaArn(logicalId),
      entry,
      environment,
      timeoutSeconds: props.Timeout,
      memoryMb: props.MemorySize,
    });
  }

  const integrationId = only('AWS::ApiGatewayV2::Integration');
  const uri = resources[integrationId]?.Properties?.IntegrationUri;
  const apiFunction = functions.find(
    (fn) => JSON.stringify(uri) === JSON.stringify({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] }),
  );
  if (!apiFunction) {
    throw new TemplateResolutionError(
      `the HTTP API integration ${integrationId} targets no function with ${ENTRY_METADATA_KEY}`,
    );
  }

  const definitionString = resources[stateMachineId]?.Properties?.DefinitionString;
  const definition = z
    .record(z.string(), z.unknown())
    .parse(JSON.parse(resolveString(definitionString, `${stateMachineId} DefinitionString`)));

  const table = tableProperties.parse(resources[tableId]?.Properties);
  return {
    definition,
    functions,
    apiFunction,
    table: {
      logicalId: tableId,
      createTableInput: {
        KeySchema: table.KeySchema,
        AttributeDefinitions: table.AttributeDefinitions,
        ...(table.BillingMode && { BillingMode: table.BillingMode }),
        ...(table.GlobalSecondaryIndexes && { GlobalSecondaryIndexes: table.GlobalSecondaryIndexes }),
      },
    },
    bucketLogicalId: bucketId,
    stateMachineLogicalId: stateMachineId,
    secretLogicalId: secretId,
  };
}

interface Intrinsics {
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): string;
}

/** Evaluates Ref, Fn::GetAtt, Fn::Join and Fn::Sub; any other intrinsic is an error naming it. */
function resolveValue(value: unknown, where: string, intrinsics: Intrinsics): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, where, intrinsics));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length !== 1 || key === undefined || !(key === 'Ref' || key.startsWith('Fn::'))) {
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, where, intrinsics)]));
  }
  const fail = (): never => {
    throw new TemplateResolutionError(`cannot resolve ${JSON.stringify(value)} in ${where}`);
  };
  const str = (v: unknown): string => {
    const resolved = resolveValue(v, where, intrinsics);
    return typeof resolved === 'string' ? resolved : fail();
  };
  switch (key) {
    case 'Ref':
      return typeof argument === 'string' ? intrinsics.ref(argument) : fail();
    case 'Fn::GetAtt': {
      const [logicalId, attribute] =
        typeof argument === 'string' ? argument.split(/\.(.*)/s) : Array.isArray(argument) ? (argument as unknown[]) : [];
      return typeof logicalId === 'string' && typeof attribute === 'string'
        ? intrinsics.getAtt(logicalId, str(attribute))
        : fail();
    }
    case 'Fn::Join': {
      if (!Array.isArray(argument) || argument.length !== 2) return fail();
      const [separator, list] = argument as [unknown, unknown];
      const items = resolveValue(list, where, intrinsics);
      return typeof separator === 'string' && Array.isArray(items) ? items.map(str).join(separator) : fail();
    }
    case 'Fn::Sub': {
      const [text, variables] = typeof argument === 'string' ? [argument, {}] : Array.isArray(argument) ? (argument as unknown[]) : [];
      if (typeof text !== 'string' || variables === null || typeof variables !== 'object') return fail();
      const bound = variables as Record<string, unknown>;
      return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
        if (literal) return `\${${name}}`;
        if (name in bound) return str(bound[name]);
        const dot = name.indexOf('.');
        return dot < 0 ? intrinsics.ref(name) : intrinsics.getAtt(name.slice(0, dot), name.slice(dot + 1));
      });
    }
    default:
      return fail();
  }
}
