import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReelhookStack } from '../../local/template.js';

const FUNCTION_NAMES = ['api', 'create', 'status', 'copy', 'record', 'notify'] as const;
type FunctionName = (typeof FUNCTION_NAMES)[number];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let template: Template;

beforeAll(async () => {
  template = Template.fromStack(await createReelhookStack());
});

function only<T>(record: Record<string, T>, what: string): [string, T] {
  const entries = Object.entries(record);
  expect(entries, what).toHaveLength(1);
  return entries[0] as [string, T];
}

function functionOf(name: FunctionName) {
  return only(
    template.findResources('AWS::Lambda::Function', { Metadata: { 'reelhook:entry': `functions/${name}/handler.ts` } }),
    `function ${name}`,
  );
}

/** Every statement of the identity policies attached to the function's role. */
function statementsOf(name: FunctionName): Statement[] {
  const [, fn] = functionOf(name);
  const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      policy.Properties.Roles.some((role: unknown) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

function s3Statements(name: FunctionName): Statement[] {
  return statementsOf(name).filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
}

/** Actions (sorted) and resource of a statement, for whole-array comparisons. */
const summary = (statement: Statement) => ({ actions: actionsOf(statement).sort(), resource: statement.Resource });

const videoObjectsArn = {
  'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Videos/), 'Arn'] }, '/videos/*']],
};

describe('storage', () => {
  it('keys the table by pk with the by-owner index, TTL and point-in-time recovery', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
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
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('blocks public access to the bucket, encrypts it and aborts stale multipart uploads', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LifecycleConfiguration: {
          Rules: [{ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
        },
      },
    });
  });

  it('denies every request to the bucket that is not over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('creates the provider key secret with a generated placeholder', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
    });
  });
});

describe('http api', () => {
  it('routes every request to the api function with payload format 2.0', () => {
    const [apiId] = functionOf('api');
    const [integrationId] = only(
      template.findResources('AWS::ApiGatewayV2::Integration', {
        Properties: {
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: { 'Fn::GetAtt': [apiId, 'Arn'] },
          PayloadFormatVersion: '2.0',
        },
      }),
      'integration to the api function',
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
    });
  });

  it('outputs the API URL, table, bucket, state machine and provider secret', () => {
    for (const output of ['ApiUrl', 'TableName', 'BucketName', 'StateMachineArn', 'ProviderSecretArn']) {
      expect(Object.keys(template.findOutputs(output)), output).toHaveLength(1);
    }
  });
});

describe('functions', () => {
  it.each(FUNCTION_NAMES)('runs %s on ARM64 Node.js 22 with tracing, source maps and its own log group', (name) => {
    const [, fn] = functionOf(name);
    expect(fn.Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
    });
    const logGroupId: string = fn.Properties.LoggingConfig.LogGroup.Ref;
    expect(template.toJSON().Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
  });

  it('gives the copy function 1024 MB and 15 minutes, the others 256 MB and 30 s', () => {
    for (const name of FUNCTION_NAMES) {
      const [, fn] = functionOf(name);
      const expected = name === 'copy' ? { MemorySize: 1024, Timeout: 900 } : { MemorySize: 256, Timeout: 30 };
      expect(fn.Properties, name).toMatchObject(expected);
    }
  });

  it('hands every function the table and bucket names', () => {
    for (const name of FUNCTION_NAMES) {
      const [, fn] = functionOf(name);
      expect(fn.Properties.Environment.Variables, name).toMatchObject({
        TABLE_NAME: { Ref: expect.stringMatching(/Table/) },
        BUCKET_NAME: { Ref: expect.stringMatching(/Videos/) },
      });
    }
  });

  it('hands the provider settings only to create and status', () => {
    for (const name of FUNCTION_NAMES) {
      const [, fn] = functionOf(name);
      const variables = Object.keys(fn.Properties.Environment.Variables);
      const provider = name === 'create' || name === 'status';
      expect(variables.includes('AIMLAPI_BASE_URL'), name).toBe(provider);
      expect(variables.includes('AIMLAPI_SECRET_ARN'), name).toBe(provider);
    }
    expect(functionOf('create')[1].Properties.Environment.Variables.AIMLAPI_BASE_URL).toBe('https://api.aimlapi.com');
  });

  it('caps copied videos at 2 GiB by default', () => {
    expect(functionOf('copy')[1].Properties.Environment.Variables.REELHOOK_MAX_VIDEO_BYTES).toBe(String(2 * 1024 ** 3));
  });
});

describe('least privilege', () => {
  it('gives the status function no S3 access', () => {
    expect(s3Statements('status')).toEqual([]);
    expect(s3Statements('create')).toEqual([]);
  });

  it('limits the copy function to putting and aborting uploads under videos/', () => {
    expect(s3Statements('copy').map(summary)).toEqual([
      { actions: ['s3:AbortMultipartUpload', 's3:PutObject'], resource: videoObjectsArn },
    ]);
  });

  it.each(['api', 'record', 'notify'] as const)('lets %s only read objects under videos/ (presigned URLs)', (name) => {
    expect(s3Statements(name).map(summary)).toEqual([{ actions: ['s3:GetObject'], resource: videoObjectsArn }]);
  });

  it('lets only create and status read the provider secret', () => {
    for (const name of FUNCTION_NAMES) {
      const reads = statementsOf(name).some((statement) =>
        actionsOf(statement).includes('secretsmanager:GetSecretValue'),
      );
      expect(reads, name).toBe(name === 'create' || name === 'status');
    }
  });

  it('lets the api start the state machine and describe or stop only its executions', () => {
    const states = statementsOf('api')
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('states:')))
      .map(summary);
    expect(states).toHaveLength(2);
    expect(states).toContainEqual({
      actions: ['states:StartExecution'],
      resource: { Ref: expect.stringMatching(/StateMachine/) },
    });
    expect(states).toContainEqual({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resource: { 'Fn::Join': ['', expect.arrayContaining([':execution:', ':*'])] },
    });
    for (const name of FUNCTION_NAMES.filter((n) => n !== 'api')) {
      expect(
        statementsOf(name)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('states:')),
        name,
      ).toEqual([]);
    }
  });

  it('lets the state machine invoke only the five workflow functions', () => {
    const [roleId] = only(
      template.findResources('AWS::IAM::Role', {
        Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'states.amazonaws.com' } }] } },
      }),
      'state machine role',
    );
    const invoke = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
    )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'));
    const invoked = new Set(JSON.stringify(invoke).match(/Orchestrator\w+Function[0-9A-F]{8}/g));
    const expected = new Set(
      (['create', 'status', 'copy', 'record', 'notify'] as const).map((name) => functionOf(name)[0]),
    );
    expect(invoked).toEqual(expected);
  });
});

describe('state machine', () => {
  it('is a Standard state machine with tracing that logs errors to a vendedlogs group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
    });
  });
});
