/**
 * What local mode runs, read out of the synthesized CDK app: the state machine definition
 * exactly as deployed, each function's source entry and environment, and the table's keys,
 * with every token resolved to the local names (intrinsics.ts).
 */
import type { CreateTableInput } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { localIntrinsics, localLambdaArn, resolveString, TemplateResolutionError, type LocalResourceNames } from './intrinsics.js';
import { loadTemplate, type CfnTemplate } from './synth.js';
import { ENTRY_METADATA_KEY, ROLE_METADATA_KEY } from '#shared/facts.js';

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

/**
 * Synthesizes the app's stack (or reads it from the cache, see synth.ts) and resolves it
 * for local mode (see {@link resolveLocalManifest}).
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
 * Resolves a synthesized template for local mode: tokens as {@link localIntrinsics} maps
 * them, and the state machine ARN built from its name becomes the local one.
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
  const intrinsics = localIntrinsics(resources, { table: tableId, bucket: bucketId, stateMachine: stateMachineId, secret: secretId }, names);
  // Functions that start executions get the state machine's ARN built from its fixed name
  // (no Ref, so that a task of the state machine can start it without a cycle).
  const stateMachineName = resources[stateMachineId]?.Properties?.StateMachineName;
  const deployedStateMachineArn =
    typeof stateMachineName === 'string'
      ? `arn:aws:states:${names.region}:${names.accountId}:stateMachine:${stateMachineName}`
      : undefined;

  const functions: LocalFunction[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof entry !== 'string') continue;
    const props = functionProperties.parse(resource.Properties);
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(props.Environment?.Variables ?? {})) {
      const resolved = resolveString(value, `${logicalId} environment variable ${name}`, intrinsics);
      environment[name] = resolved === deployedStateMachineArn ? names.stateMachineArn : resolved;
    }
    functions.push({
      logicalId,
      arn: localLambdaArn(logicalId, names),
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
    .parse(JSON.parse(resolveString(definitionString, `${stateMachineId} DefinitionString`, intrinsics)));

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
