import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalResourceNames, TemplateResolutionError } from '../../local/template/intrinsics.js';
import { type LocalManifest, loadLocalManifest, resolveLocalManifest } from '../../local/template/manifest.js';
import type { CfnTemplate } from '../../local/template/synth.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');

const NAMES: LocalResourceNames = {
  tableName: 'local-table',
  bucketName: 'local-bucket',
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:local-machine',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:local-secret',
  region: 'eu-west-1',
  accountId: '123456789012',
};

let dataDir: string;
let manifest: LocalManifest;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-template-test-'));
  process.env.REELHOOK_DATA_DIR = dataDir;
  manifest = await loadLocalManifest(NAMES);
});

afterAll(async () => {
  delete process.env.REELHOOK_DATA_DIR;
  await rm(dataDir, { recursive: true, force: true });
});

/** The function each Task calls: its Resource, or the FunctionName of a `lambda:invoke.waitForTaskToken` Task. */
function taskResources(states: Record<string, { Type: string; Resource?: string; Parameters?: { FunctionName?: string } }>): string[] {
  return Object.values(states)
    .filter((state) => state.Type === 'Task')
    .map((state) => (state.Resource?.startsWith('arn:aws:states:::') ? state.Parameters?.FunctionName : state.Resource) ?? '');
}

function byEntry(name: string) {
  const fn = manifest.functions.find((f) => f.entry === `functions/${name}/handler.ts`);
  if (!fn) throw new Error(`no function for ${name}`);
  return fn;
}

describe('loadLocalManifest', () => {
  it('names only the returned functions as Task resources', () => {
    const arns = manifest.functions.map((fn) => fn.arn);
    const resources = taskResources(manifest.definition.States as Record<string, { Type: string; Resource?: string }>);
    expect(resources).toHaveLength(7);
    for (const resource of resources) expect(arns).toContain(resource);
  });

  it('gives the functions local Lambda ARNs named after their logical ids', () => {
    for (const fn of manifest.functions) {
      expect(fn.arn).toBe(`arn:aws:lambda:eu-west-1:123456789012:function:${fn.logicalId}`);
    }
  });

  it('lists the nine functions with entries that exist in the repository', () => {
    expect(manifest.functions.map((fn) => fn.entry).sort()).toEqual(
      ['admit', 'api', 'copy', 'create', 'intake', 'notify', 'record', 'release', 'status'].map((name) => `functions/${name}/handler.ts`),
    );
    for (const fn of manifest.functions) expect(existsSync(join(REPO_ROOT, fn.entry)), fn.entry).toBe(true);
  });

  it('finds the api function behind the HTTP API', () => {
    expect(manifest.apiFunction).toEqual(byEntry('api'));
  });

  it('resolves the environment to the local names', () => {
    for (const fn of manifest.functions) {
      expect(fn.environment.TABLE_NAME, fn.entry).toBe('local-table');
    }
    expect(byEntry('copy').environment.BUCKET_NAME).toBe('local-bucket');
    // Built from the state machine's name in the template, mapped to the local state machine.
    for (const name of ['api', 'intake', 'create']) {
      expect(byEntry(name).environment.STATE_MACHINE_ARN, name).toBe(NAMES.stateMachineArn);
    }
    expect(byEntry('record').environment.EVENT_BUS_NAME).toBe('default');
    expect(byEntry('notify').environment.REELHOOK_CALLBACK_POLICY).toBe('public');
    expect(byEntry('create').environment.AIMLAPI_SECRET_ARN).toBe(NAMES.secretArn);
    expect(byEntry('status').environment.AIMLAPI_SECRET_ARN).toBe(NAMES.secretArn);
    expect(byEntry('copy').environment.REELHOOK_MAX_VIDEO_BYTES).toBe(String(2 * 1024 ** 3));
  });

  it('reports each function timeout and memory', () => {
    expect(byEntry('copy')).toMatchObject({ timeoutSeconds: 900, memoryMb: 1024 });
    expect(byEntry('notify')).toMatchObject({ timeoutSeconds: 30, memoryMb: 256 });
  });

  it('reads the table keys, index and billing mode from the template', () => {
    expect(manifest.table.createTableInput).toEqual({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-owner',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('returns a definition the local Step Functions engine accepts', () => {
    // The engine annotates the definition it is given, so hand it a copy.
    const definition = structuredClone(manifest.definition) as unknown as StateMachineDefinition;
    expect(() => new StateMachine(definition)).not.toThrow();
  });

  it('caches the synthesized template under REELHOOK_DATA_DIR and reads it back', async () => {
    expect(readdirSync(join(dataDir, 'cache')).filter((name) => /^template-\w+\.json$/.test(name))).toHaveLength(1);
    expect(await loadLocalManifest(NAMES)).toEqual(manifest);
  });
});

describe('resolveLocalManifest', () => {
  /** A minimal template whose function environment the test can extend. */
  const fixture = () => {
    const variables: Record<string, unknown> = {
      TABLE_ARN: { 'Fn::GetAtt': ['Table', 'Arn'] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
      OBJECTS: { 'Fn::Sub': ['${Bucket.Arn}/${Prefix}*', { Prefix: 'videos/' }] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
      WHERE: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:x' },
    };
    const template: CfnTemplate = {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          },
        },
        Bucket: { Type: 'AWS::S3::Bucket' },
        Secret: { Type: 'AWS::SecretsManager::Secret' },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'reelhook:entry': 'functions/api/handler.ts' },
          Properties: { Timeout: 30, MemorySize: 256, Environment: { Variables: variables } },
        },
        Machine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            DefinitionString: {
              'Fn::Join': [
                '',
                [
                  '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                  { 'Fn::GetAtt': ['Fn', 'Arn'] },
                  '","End":true}}}',
                ],
              ],
            },
          },
        },
        Integration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: { IntegrationUri: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
        },
      },
    };
    return { template, variables };
  };

  it('resolves Fn::Sub, Fn::GetAtt and pseudo parameters', () => {
    const resolved = resolveLocalManifest(fixture().template, NAMES);
    expect(resolved.apiFunction.environment).toEqual({
      TABLE_ARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/local-table',
      OBJECTS: 'arn:aws:s3:::local-bucket/videos/*',
      WHERE: 'arn:aws:states:eu-west-1:123456789012:x',
    });
    expect(resolved.definition).toEqual({
      StartAt: 'A',
      States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:Fn', End: true } },
    });
  });

  it('resolves an event bus to its own name and ARN', () => {
    const { template, variables } = fixture();
    template.Resources.Bus = { Type: 'AWS::Events::EventBus', Properties: { Name: 'pipelines' } };
    variables.BUS_NAME = { Ref: 'Bus' };
    variables.BUS_ARN = { 'Fn::GetAtt': ['Bus', 'Arn'] };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
    variables.BUS_SUB = { 'Fn::Sub': '${Bus.Name}' };
    expect(resolveLocalManifest(template, NAMES).apiFunction.environment).toMatchObject({
      BUS_NAME: 'pipelines',
      BUS_ARN: 'arn:aws:events:eu-west-1:123456789012:event-bus/pipelines',
      BUS_SUB: 'pipelines',
    });
  });

  it('maps the state machine ARN built from its fixed name to the local state machine', () => {
    const { template, variables } = fixture();
    const machine = template.Resources.Machine;
    if (!machine?.Properties) throw new Error('fixture without a state machine');
    machine.Properties.StateMachineName = 'Reelhook-generations';
    variables.STATE_MACHINE_ARN = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':stateMachine:Reelhook-generations'],
      ],
    };
    variables.OTHER_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:someone-else';
    expect(resolveLocalManifest(template, NAMES).apiFunction.environment).toMatchObject({
      STATE_MACHINE_ARN: NAMES.stateMachineArn,
      OTHER_MACHINE: 'arn:aws:states:eu-west-1:123456789012:stateMachine:someone-else',
    });
  });

  it('picks the videos bucket by its role when the template holds several buckets', () => {
    const { template } = fixture();
    template.Resources.AccessLogs = { Type: 'AWS::S3::Bucket' };
    expect(() => resolveLocalManifest(template, NAMES)).toThrow(/reelhook:role videos.*found 0/);
    template.Resources.Bucket = { Type: 'AWS::S3::Bucket', Metadata: { 'reelhook:role': 'videos' } };
    expect(resolveLocalManifest(template, NAMES).bucketLogicalId).toBe('Bucket');
  });

  it('rejects a token it cannot resolve and names it', () => {
    const { template: broken, variables } = fixture();
    variables.QUEUE = { 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] };
    expect(() => resolveLocalManifest(broken, NAMES)).toThrow(TemplateResolutionError);
    expect(() => resolveLocalManifest(broken, NAMES)).toThrow(/"Bucket", "WebsiteURL"/);

    variables.QUEUE = { 'Fn::ImportValue': 'shared-queue' };
    expect(() => resolveLocalManifest(broken, NAMES)).toThrow(/Fn::ImportValue.*QUEUE/);
  });
});
