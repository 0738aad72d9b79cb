/**
 * ReelhookOrchestrator embedded in someone else's stack: brought resources are used
 * instead of created ones, the options reach the functions, and invalid options are
 * refused before anything is built.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReelhookOrchestrator, type ReelhookOrchestratorProps } from '../../infra/orchestrator.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const newStack = () => new Stack(newApp(), 'Media', { env: ENV });

let template: Template;
/** A second stack of the same app (one synthesis), with created resources and a retention. */
let freshTemplate: Template;
let variables: (entry: string) => Record<string, unknown>;

beforeAll(() => {
  const app = newApp();
  const stack = new Stack(app, 'Media', { env: ENV });
  const fresh = new Stack(app, 'Fresh', { env: ENV });
  new ReelhookOrchestrator(fresh, 'Reelhook', { recordRetention: Duration.days(30) });
  new ReelhookOrchestrator(stack, 'Reelhook', {
    table: Table.fromTableName(stack, 'Table', 'media-records'),
    bucket: Bucket.fromBucketName(stack, 'Bucket', 'media-library'),
    eventBus: new EventBus(stack, 'Bus', { eventBusName: 'pipelines' }),
    providerSecret: Secret.fromSecretNameV2(stack, 'Key', 'aimlapi/key'),
    alarmAction: new SnsAction(new Topic(stack, 'Pager')),
    recordRetention: Duration.days(90),
    pollFirstCheck: Duration.seconds(90),
    pollMinInterval: Duration.seconds(10),
    pollMaxInterval: Duration.minutes(3),
    stateMachineName: 'media-generations',
    maxVideoBytes: 512 * 1024 ** 2,
    rateLimitPerMinute: 0,
    requestPrincipalArns: ['arn:aws:iam::123456789012:role/media-pipeline', 'arn:aws:iam::123456789012:role/batch-*'],
    providerConcurrency: 12,
    queueWaitAlarm: Duration.minutes(10),
  });
  template = Template.fromStack(stack);
  freshTemplate = Template.fromStack(fresh);
  const functions = template.findResources('AWS::Lambda::Function');
  variables = (entry) => {
    const found = Object.values(functions).find((fn) => fn.Metadata?.['reelhook:entry'] === `functions/${entry}/handler.ts`);
    if (!found) throw new Error(`no function ${entry}`);
    return found.Properties.Environment.Variables;
  };
});

describe('brought resources', () => {
  it('creates no table, bucket or secret of its own', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('hands the functions the brought names and grants on the brought ARNs', () => {
    expect(variables('status')).toMatchObject({ TABLE_NAME: 'media-records' });
    expect(variables('copy')).toMatchObject({ BUCKET_NAME: 'media-library' });
    expect(JSON.stringify(variables('create').AIMLAPI_SECRET_ARN)).toContain(':secretsmanager:eu-west-1:123456789012:secret:aimlapi/key');
    expect(variables('record').EVENT_BUS_NAME).toEqual({ Ref: expect.stringMatching(/^Bus/) });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
            Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':s3:::media-library/videos/*'])] }),
          }),
        ]),
      },
    });
    // A secret brought by name has a partial ARN: the grant matches the six characters AWS appends.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'secretsmanager:GetSecretValue',
            Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':secret:aimlapi/key-\\?{6}$')])] }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      EventPattern: { source: ['reelhook'], 'detail-type': ['Video Generation Requested'] },
    });
  });

  it('lets create and status decrypt a brought secret’s own KMS key only through Secrets Manager', () => {
    const stack = newStack();
    const providerSecret = Secret.fromSecretAttributes(stack, 'Key', {
      secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aimlapi/key-AbCdEf',
      encryptionKey: new Key(stack, 'SecretKey'),
    });
    new ReelhookOrchestrator(stack, 'Reelhook', { providerSecret });
    const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    const decrypts = (key?.Properties.KeyPolicy.Statement as Array<{ Action: string; Condition?: unknown; Principal: any }>)
      .filter((statement) => statement.Action === 'kms:Decrypt')
      .map(({ Condition, Principal }) => ({ Condition, role: Principal.AWS['Fn::GetAtt'][0] }));
    const viaSecretsManager = { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } };
    expect(decrypts).toEqual([
      { Condition: viaSecretsManager, role: expect.stringMatching(/^ReelhookCreateRole/) },
      { Condition: viaSecretsManager, role: expect.stringMatching(/^ReelhookStatusRole/) },
    ]);
  });
});

describe('options', () => {
  it('passes the polling bounds to create and status', () => {
    for (const entry of ['create', 'status']) {
      expect(variables(entry), entry).toMatchObject({
        REELHOOK_POLL_FIRST_SECONDS: '90',
        REELHOOK_POLL_MIN_SECONDS: '10',
        REELHOOK_POLL_MAX_SECONDS: '180',
      });
    }
  });

  it('keeps records for the retention through the functions that create them', () => {
    expect(variables('api').REELHOOK_RECORD_TTL_DAYS).toBe('90');
    expect(variables('intake').REELHOOK_RECORD_TTL_DAYS).toBe('90');
    expect(variables('status').REELHOOK_RECORD_TTL_DAYS).toBeUndefined();
  });

  it('lets only the listed principals put requests on the brought bus', () => {
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      Statement: {
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] },
        Condition: {
          'ForAnyValue:StringEquals': { 'events:source': ['reelhook'], 'events:detail-type': ['Video Generation Requested'] },
          ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::123456789012:role/media-pipeline', 'arn:aws:iam::123456789012:role/batch-*'] },
        },
      },
    });
  });

  it('sets the API rate limit as asked, 0 turning it off', () => {
    expect(variables('api').REELHOOK_RATE_LIMIT_PER_MINUTE).toBe('0');
    expect(variables('intake').REELHOOK_RATE_LIMIT_PER_MINUTE).toBeUndefined();
  });

  it('lets the API publish a cancel on the brought bus, as source reelhook', () => {
    expect(variables('api').EVENT_BUS_NAME).toEqual({ Ref: expect.stringMatching(/^Bus/) });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ReelhookApiRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] },
            Condition: {
            StringEquals: { 'events:source': 'reelhook' },
            'ForAllValues:StringEquals': { 'events:detail-type': ['Video Generation Started', 'Video Generation Completed', 'Video Generation Failed'] },
          },
          },
        ]),
      },
    });
  });

  it('names the state machine and caps the copied videos as asked', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'media-generations' });
    expect(variables('api').STATE_MACHINE_ARN).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:eu-west-1:123456789012:stateMachine:media-generations']],
    });
    expect(variables('copy').REELHOOK_MAX_VIDEO_BYTES).toBe(String(512 * 1024 ** 2));
  });

  it('hands the configured provider concurrency to every function that takes or gives back slots, and none by default', () => {
    for (const name of ['api', 'admit', 'create', 'status', 'record', 'release']) expect(variables(name).REELHOOK_PROVIDER_CONCURRENCY, name).toBe('12');
    const fresh = Object.values(freshTemplate.findResources('AWS::Lambda::Function'));
    expect(fresh.some((fn) => 'REELHOOK_PROVIDER_CONCURRENCY' in (fn.Properties.Environment?.Variables ?? {}))).toBe(false);
  });

  it('alarms when the oldest queued generation has waited longer than queueWaitAlarm (30 minutes by default)', () => {
    const threshold = (t: Template) =>
      Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.includes('QueueWaitTooLong'))?.[1].Properties as Record<string, any> | undefined;
    expect(threshold(template)).toMatchObject({ MetricName: 'OldestQueuedSeconds', Statistic: 'Maximum', Threshold: 600 });
    expect(threshold(freshTemplate)).toMatchObject({ Threshold: 1800 });
  });

  it('releases the slots of stopped, timed-out and failed runs from the default bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: Match.anyValue(), status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
      },
    });
  });

  it('sends every alarm to the alarm action', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Pager/) }]);
    }
  });

  it('expires the videos of a bucket it creates after the record retention', () => {
    freshTemplate.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'videos/', ExpirationInDays: 30, Status: 'Enabled' })]),
      },
    });
  });
});

describe('validation', () => {
  const build = (props: ReelhookOrchestratorProps) => () => new ReelhookOrchestrator(newStack(), 'Reelhook', props);

  it('refuses any callback policy but public', () => {
    expect(build({ callbackPolicy: 'local' as 'public' })).toThrow(/callbackPolicy must be 'public'/);
  });

  it('refuses a provider URL that is not https', () => {
    expect(build({ aimlapiBaseUrl: 'http://api.aimlapi.com' })).toThrow(/https URL/);
  });

  it('refuses video limits the copy cannot meet', () => {
    expect(build({ maxVideoBytes: 11 * 1024 ** 3 })).toThrow(/maxVideoBytes/);
    expect(build({ maxVideoBytes: 0 })).toThrow(/maxVideoBytes/);
  });

  it('refuses polling bounds that are not whole seconds or out of order', () => {
    expect(build({ pollMinInterval: Duration.millis(1500) })).toThrow(/pollMinInterval must be whole seconds/);
    expect(build({ pollMinInterval: Duration.seconds(0) })).toThrow(/at least 1/);
    expect(build({ pollMinInterval: Duration.minutes(5), pollMaxInterval: Duration.minutes(4) })).toThrow(
      /must not be below pollMinInterval/,
    );
  });

  it('refuses a maximum interval that would overflow the execution history of a 24 h generation', () => {
    expect(build({ pollMaxInterval: Duration.seconds(60) })).toThrow(/raise pollMaxInterval to at least 64 s/);
  });

  it('refuses a rate limit that is not a whole number of at least 0', () => {
    expect(build({ rateLimitPerMinute: -1 })).toThrow(/rateLimitPerMinute must be a whole number/);
    expect(build({ rateLimitPerMinute: 2.5 })).toThrow(/rateLimitPerMinute must be a whole number/);
  });

  it('refuses request principals that are not IAM role or user ARNs, naming the option', () => {
    expect(build({ requestPrincipalArns: ['123456789012'] })).toThrow(/requestPrincipalArns must hold IAM role or user ARNs/);
    expect(build({ requestPrincipalArns: ['arn:aws:sts::123456789012:assumed-role/x/y'] })).toThrow(/requestPrincipalArns/);
    expect(build({ requestPrincipalArns: ['*'] })).toThrow(/requestPrincipalArns/);
  });

  it('refuses a provider concurrency that is not a whole number of at least 1', () => {
    for (const providerConcurrency of [0, 2.5, -1]) expect(build({ providerConcurrency }), String(providerConcurrency)).toThrow(/providerConcurrency/);
  });

  it('refuses a record retention that is not whole days', () => {
    expect(build({ recordRetention: Duration.hours(36) })).toThrow(/recordRetention must be whole days/);
  });
});
