import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ViaServicePrincipal } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_RATE_LIMIT_PER_MINUTE } from '../functions/api/rate-limit.js';
import { EVENT_SOURCE, EventDetailType } from '#shared/events/bus.js';
import { DEFAULT_POLLING_BOUNDS, type PollingBounds } from '#shared/polling/bounds.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { ReelhookEventIntake } from './event-intake.js';
import { assertPollingFitsHistory } from './history.js';
import { ReelhookHttpApi } from './http-api.js';
import { ReelhookFunction, type ReelhookFunctionName, type ReelhookFunctionProps } from './lambda-function.js';
import { ReelhookMonitoring } from './monitoring.js';
import { acknowledgeWildcardResource } from './nag.js';
import { ReelhookStorage, VIDEO_PREFIX } from './storage.js';
import { ReelhookSlotRelease } from './slot-release.js';
import { COPY_TIMEOUT, ReelhookWorkflow } from './workflow.js';
import { DEFAULT_MAX_VIDEO_BYTES, DEFAULT_PROVIDER_BASE_URL, Env, MAX_VIDEO_BYTES_LIMIT } from '#shared/facts.js';

/** The only callback policy AWS allows: https to public addresses (docs/webhooks.md). */
export type ReelhookCallbackPolicy = 'public';

export interface ReelhookOrchestratorProps {
  /**
   * Base URL of the AI/ML API (a proxy, or a mock for testing). Must be https: the
   * provider key travels in the Authorization header.
   * @default 'https://api.aimlapi.com'
   */
  readonly aimlapiBaseUrl?: string;
  /**
   * Largest video the copy step accepts; bigger ones end the generation with
   * `InvalidVideo`. At most 10 GiB: the copy has Lambda's 15 minutes, and 10 GiB in
   * that time already needs the provider to serve 11.4 MiB/s throughout.
   * @default 2 GiB
   */
  readonly maxVideoBytes?: number;
  /**
   * Retention of the functions', the state machine's and the API's logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Where the videos are copied (under `videos/`).
   * @default a new private, encrypted, TLS-only bucket with server access logs
   */
  readonly bucket?: IBucket;
  /**
   * The table for generations, API keys and idempotency keys; see ReelhookStorageProps.table for its layout.
   * @default a new on-demand table with encryption, point-in-time recovery and TTL on `expires_at`
   */
  readonly table?: ITable;
  /**
   * The bus reelhook publishes `Video Generation Started/Completed/Failed` to (source
   * `reelhook`) and takes `Video Generation Requested` events from.
   * @default the account's default event bus
   */
  readonly eventBus?: IEventBus;
  /**
   * Who may start generations through EventBridge: the IAM role or user ARNs allowed to put
   * `Video Generation Requested` events (source `reelhook`) on `eventBus`. The bus's
   * policy denies that source to every other principal (docs/events.md).
   * @default none: event intake refuses every request until senders are listed
   */
  readonly requestPrincipalArns?: readonly string[];
  /**
   * Secret whose value is the AI/ML API key. Only the create and status functions may read it.
   * @default a new secret with a random placeholder; put your key in it after the first deploy
   */
  readonly providerSecret?: ISecret;
  /**
   * Wait before the first status check of a generation (whole seconds).
   * @default chosen by the model's learned polling schedule (its seeds' typical duration until it has history), at least pollMinInterval
   */
  readonly pollFirstCheck?: Duration;
  /**
   * Shortest wait between status checks (whole seconds, at least 1).
   * @default Duration.seconds(5)
   */
  readonly pollMinInterval?: Duration;
  /**
   * Longest wait between status checks. The interval grows with the time a generation
   * has run, up to this; it must keep a 24 h generation's polling within half of Step
   * Functions. 25,000-event history (64 s or more with the default minimum).
   * @default Duration.seconds(120)
   */
  readonly pollMaxInterval?: Duration;
  /**
   * Which callback URLs are accepted and called. AWS allows only `public`: https, and
   * only to hosts that resolve to public addresses.
   * @default 'public'
   */
  readonly callbackPolicy?: ReelhookCallbackPolicy;
  /**
   * Requests per API key per minute that the HTTP API answers before `429 RateLimited`,
   * counted in a one-minute window shared by all its instances. 0 disables the limit.
   * @default 600
   */
  readonly rateLimitPerMinute?: number;
  /**
   * What every alarm does when it fires, e.g. `new SnsAction(topic)`.
   * @default no action: alarms show in the console and on the dashboard only
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * How long a generation's record is kept after it is created (DynamoDB TTL on
   * `expires_at`). Videos in a bucket this construct creates expire after the same time.
   * Whole days, at least 1.
   * @default records and videos are kept until deleted
   */
  readonly recordRetention?: Duration;
  /**
   * The most jobs the provider account runs at once (its concurrency cap). Generations
   * beyond it wait `queued` in a fair queue and are submitted as slots free. Unset, the
   * limit is learned from the provider's 429 answers.
   * @default adaptive
   */
  readonly providerConcurrency?: number;
  /**
   * Alarm when the oldest queued generation has waited this long for a provider slot.
   * @default Duration.minutes(30)
   */
  readonly queueWaitAlarm?: Duration;
  /**
   * Name of the state machine; executions are named after the generations.
   * @default a name derived from the construct path, unique in the account and region
   */
  readonly stateMachineName?: string;
}


/** DynamoDB actions on single items; no function scans. */
const READ_ITEM = ['dynamodb:GetItem'];
const WRITE_ITEM = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** Only api deletes, and only a record it has just written when its execution could not be started. */
const DELETE_ITEM = 'dynamodb:DeleteItem';
/** The provider queue's items (functions/shared/admission/): a waiter is put, updated and deleted. */
const ADMISSION_ITEMS = [...READ_ITEM, ...WRITE_ITEM, DELETE_ITEM];

function validated(props: ReelhookOrchestratorProps) {
  const aimlapiBaseUrl = props.aimlapiBaseUrl ?? DEFAULT_PROVIDER_BASE_URL;
  if (!Token.isUnresolved(aimlapiBaseUrl) && !(URL.canParse(aimlapiBaseUrl) && new URL(aimlapiBaseUrl).protocol === 'https:')) {
    throw new Error(`aimlapiBaseUrl must be an https URL (it carries the provider key), got '${aimlapiBaseUrl}'`);
  }
  const maxVideoBytes = props.maxVideoBytes ?? DEFAULT_MAX_VIDEO_BYTES;
  if (!Number.isSafeInteger(maxVideoBytes) || maxVideoBytes <= 0 || maxVideoBytes > MAX_VIDEO_BYTES_LIMIT) {
    throw new Error(`maxVideoBytes must be a positive integer up to ${MAX_VIDEO_BYTES_LIMIT} (10 GiB), got ${maxVideoBytes}`);
  }
  const callbackPolicy: string = props.callbackPolicy ?? 'public';
  if (callbackPolicy !== 'public') {
    throw new Error(`callbackPolicy must be 'public' in AWS (https to public addresses only), got '${callbackPolicy}'`);
  }
  const seconds = (name: string, value: Duration, min: number) => {
    const whole = value.toSeconds({ integral: false });
    if (!Number.isInteger(whole) || whole < min) throw new Error(`${name} must be whole seconds, at least ${min}, got ${value.toHumanString()}`);
    return whole;
  };
  const bounds: PollingBounds = {
    firstCheckSeconds: props.pollFirstCheck === undefined ? null : seconds('pollFirstCheck', props.pollFirstCheck, 0),
    minIntervalSeconds: seconds('pollMinInterval', props.pollMinInterval ?? Duration.seconds(DEFAULT_POLLING_BOUNDS.minIntervalSeconds), 1),
    maxIntervalSeconds: seconds('pollMaxInterval', props.pollMaxInterval ?? Duration.seconds(DEFAULT_POLLING_BOUNDS.maxIntervalSeconds), 1),
  };
  if (bounds.maxIntervalSeconds < bounds.minIntervalSeconds) {
    throw new Error(`pollMaxInterval (${bounds.maxIntervalSeconds} s) must not be below pollMinInterval (${bounds.minIntervalSeconds} s)`);
  }
  assertPollingFitsHistory(bounds);
  const rateLimitPerMinute = props.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  if (!Number.isSafeInteger(rateLimitPerMinute) || rateLimitPerMinute < 0) {
    throw new Error(`rateLimitPerMinute must be a whole number, at least 0 (0 disables the limit), got ${rateLimitPerMinute}`);
  }
  const recordRetentionDays = props.recordRetention?.toDays({ integral: false });
  if (recordRetentionDays !== undefined && (!Number.isInteger(recordRetentionDays) || recordRetentionDays < 1)) {
    throw new Error(`recordRetention must be whole days, at least 1, got ${props.recordRetention?.toHumanString()}`);
  }
  const providerConcurrency = props.providerConcurrency;
  if (providerConcurrency !== undefined && (!Number.isSafeInteger(providerConcurrency) || providerConcurrency < 1)) {
    throw new Error(`providerConcurrency must be a whole number, at least 1 (or unset for an adaptive limit), got ${providerConcurrency}`);
  }
  return { aimlapiBaseUrl, maxVideoBytes, callbackPolicy, bounds, rateLimitPerMinute, recordRetentionDays, providerConcurrency };
}

/**
 * All of reelhook in one construct: storage, the nine functions, the generation
 * workflow, the HTTP API, the EventBridge intake, alarms and a dashboard. Each function
 * gets only the permissions its step needs, each with the environment variable that
 * names the resource.
 *
 * @example
 * const reelhook = new ReelhookOrchestrator(this, 'Reelhook', {
 *   bucket: Bucket.fromBucketName(this, 'Media', 'my-media-bucket'),
 *   alarmAction: new SnsAction(opsTopic),
 *   recordRetention: Duration.days(90),
 * });
 * new CfnOutput(this, 'ApiUrl', { value: reelhook.api.httpApi.apiEndpoint });
 */
export class ReelhookOrchestrator extends Construct {
  public readonly storage: ReelhookStorage;
  public readonly eventBus: IEventBus;
  public readonly functions: Readonly<Record<ReelhookFunctionName, NodejsFunction>>;
  public readonly workflow: ReelhookWorkflow;
  public readonly api: ReelhookHttpApi;
  public readonly intake: ReelhookEventIntake;
  public readonly slotRelease: ReelhookSlotRelease;
  public readonly monitoring: ReelhookMonitoring;

  constructor(scope: Construct, id: string, props: ReelhookOrchestratorProps = {}) {
    super(scope, id);

    const { aimlapiBaseUrl, maxVideoBytes, callbackPolicy, bounds, rateLimitPerMinute, recordRetentionDays, providerConcurrency } = validated(props);

    this.storage = new ReelhookStorage(this, 'Storage', {
      table: props.table,
      bucket: props.bucket,
      providerSecret: props.providerSecret,
      videoRetention: recordRetentionDays === undefined ? undefined : Duration.days(recordRetentionDays),
    });
    this.eventBus = props.eventBus ?? EventBus.fromEventBusName(this, 'DefaultBus', 'default');

    type Sizing = Pick<ReelhookFunctionProps, 'memorySize' | 'timeout'>;
    const build = (constructId: string, name: ReelhookFunctionName, sizing: Sizing = {}) =>
      new ReelhookFunction(this, constructId, { name, logRetention: props.logRetention, ...sizing }).lambdaFunction;
    this.functions = {
      // 512 MB / 29 s: the one function a person waits on, and Lambda's CPU share grows with memory;
      // 29 s ends it before API Gateway's fixed 30 s integration timeout answers 503 on its own.
      api: build('Api', 'api', { memorySize: 512, timeout: Duration.seconds(29) }),
      // 256 MB / 30 s: the API's validation and a few DynamoDB and Step Functions calls, asynchronously.
      intake: build('Intake', 'intake'),
      // 256 MB / 2 min: a few DynamoDB writes to queue the generation, and SendTaskSuccess. A burst
      // of arrivals all writes the same two admission items: the step must outlast that queue
      // (locally, on the one-process table, 500 at once took more than 30 s), not time out and retry into it.
      admit: build('Admit', 'admit', { timeout: Duration.minutes(2) }),
      // 256 MB / 2 min: one provider request may use its 30 s timeout three times around two waits
      // for 429s (≤ 20 s), ≈ 110 s, and must end in a ProviderUnavailable of its own, not a Lambda timeout.
      create: build('Create', 'create', { timeout: Duration.minutes(2) }),
      // 256 MB / 2 min: one provider poll, with the same worst case as create.
      status: build('Status', 'status', { timeout: Duration.minutes(2) }),
      // 1024 MB / 15 min: streams the video through 8 MiB multipart parts (4 in flight) while hashing it.
      // Memory buys CPU and network share, not buffer: 2 GiB in 15 min needs only 2.3 MiB/s from the
      // provider, far below what Lambda moves at this size; larger than maxVideoBytes ends InvalidVideo.
      copy: build('Copy', 'copy', { memorySize: 1024, timeout: COPY_TIMEOUT }),
      // 256 MB / 30 s: one conditional DynamoDB update, a presigned URL and one PutEvents.
      record: build('Record', 'record'),
      // 256 MB / 30 s: one webhook attempt (10 s limit per contract) plus its bookkeeping.
      notify: build('Notify', 'notify'),
      // 256 MB / 30 s: releases the slot of a run that ended without doing so (DynamoDB, SendTaskSuccess).
      release: build('Release', 'release'),
    };
    const { api, intake, admit, create, status, copy, record, notify, release } = this.functions;

    this.workflow = new ReelhookWorkflow(this, 'Workflow', {
      admitFunction: admit,
      createFunction: create,
      statusFunction: status,
      copyFunction: copy,
      recordFunction: record,
      notifyFunction: notify,
      logRetention: props.logRetention,
      stateMachineName: props.stateMachineName,
    });
    this.api = new ReelhookHttpApi(this, 'Http', { handler: api, logRetention: props.logRetention });
    this.intake = new ReelhookEventIntake(this, 'EventIntake', {
      eventBus: this.eventBus,
      handler: intake,
      requestPrincipalArns: props.requestPrincipalArns,
    });
    this.slotRelease = new ReelhookSlotRelease(this, 'SlotRelease', { stateMachineArn: this.workflow.stateMachineArn, handler: release });
    this.monitoring = new ReelhookMonitoring(this, 'Monitoring', {
      queueWaitAlarm: props.queueWaitAlarm,
      stateMachine: this.workflow.stateMachine,
      functions: this.functions,
      httpApi: this.api.httpApi,
      deadLetterQueue: this.intake.deadLetterQueue,
      alarmAction: props.alarmAction,
    });

    this.grantTable(this.storage.table);
    this.grantVideos(this.storage.bucket);

    const { providerSecret } = this.storage;
    for (const fn of [create, status]) {
      fn.addEnvironment(Env.ProviderBaseUrl, aimlapiBaseUrl);
      fn.addEnvironment(Env.ProviderSecretArn, providerSecret.secretArn);
      grantSecretValue(providerSecret, fn);
      fn.addEnvironment(Env.PollMinSeconds, String(bounds.minIntervalSeconds));
      fn.addEnvironment(Env.PollMaxSeconds, String(bounds.maxIntervalSeconds));
      if (bounds.firstCheckSeconds !== null) fn.addEnvironment(Env.PollFirstSeconds, String(bounds.firstCheckSeconds));
    }

    // Every step that takes, hands over or gives back a provider slot, and the API that shows them.
    for (const fn of [admit, create, status, record, release, api]) {
      if (providerConcurrency !== undefined) fn.addEnvironment(Env.ProviderConcurrency, String(providerConcurrency));
    }
    for (const fn of [admit, create, status, record, release]) this.workflow.grantTaskSuccess(fn);

    copy.addEnvironment(Env.MaxVideoBytes, String(maxVideoBytes));
    api.addEnvironment(Env.RateLimitPerMinute, String(rateLimitPerMinute));

    // Requests are validated against the policy when accepted, and deliveries when made.
    for (const fn of [api, intake, notify]) fn.addEnvironment(Env.CallbackPolicy, callbackPolicy);
    if (recordRetentionDays !== undefined) {
      for (const fn of [api, intake]) fn.addEnvironment(Env.RecordTtlDays, String(recordRetentionDays));
    }

    // api and intake start generations, cancel (stop `<id>`, start `<id>-cancel`) and redeliver;
    // create starts the delivery-only `<id>-started` execution.
    for (const fn of [api, intake]) {
      this.workflow.grantStartExecution(fn);
      this.workflow.grantStopExecution(fn);
    }
    this.workflow.grantStartExecution(create);
    // api shows a generation's execution history (GET …/history).
    this.workflow.grantReadHistory(api);

    // create announces Started, record the outcome, api a cancel's Failed.
    for (const fn of [api, create, record]) {
      fn.addEnvironment(Env.EventBusName, this.eventBus.eventBusName);
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          // Our functions speak only as reelhook, and only of generations' progress: never a request.
          conditions: {
            StringEquals: { 'events:source': EVENT_SOURCE },
            'ForAllValues:StringEquals': { 'events:detail-type': [EventDetailType.Started, EventDetailType.Completed, EventDetailType.Failed] },
          },
        }),
      );
    }
  }

  /**
   * Item access per step, on the table itself; only the functions that list a tenant's
   * generations may query the owner index, named exactly.
   */
  private grantTable(table: ITable): void {
    const { api, intake, admit, create, status, copy, record, notify, release } = this.functions;
    const ownerIndexArn = `${table.tableArn}/index/${TableLayout.ownerIndex.name}`;
    const access: Array<[NodejsFunction, string[], boolean]> = [
      [api, [...READ_ITEM, ...WRITE_ITEM, DELETE_ITEM], true],
      [intake, [...READ_ITEM, ...WRITE_ITEM], true],
      // admit, create, status, record and release also keep the provider queue: the slots item,
      // and waiters that are put, deleted and found through the owner index (QUEUE#<owner>).
      [admit, ADMISSION_ITEMS, true],
      [create, ADMISSION_ITEMS, true],
      [status, ADMISSION_ITEMS, true],
      // The copy reads the provider's URL from the record; record writes the outcome.
      [copy, READ_ITEM, false],
      [record, ADMISSION_ITEMS, true],
      [notify, [...READ_ITEM, 'dynamodb:UpdateItem'], false],
      [release, ADMISSION_ITEMS, true],
    ];
    for (const [fn, actions, lists] of access) {
      fn.addEnvironment(Env.TableName, table.tableName);
      fn.addToRolePolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
      if (lists) fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [table.tableArn, ownerIndexArn] }));
      // A brought table may use a customer managed key.
      if (actions.some((action) => WRITE_ITEM.includes(action))) table.encryptionKey?.grantEncryptDecrypt(fn);
      else table.encryptionKey?.grantDecrypt(fn);
    }
  }

  /** The copy writes under videos/ only; api, record and notify sign download URLs, which carry their read permission. */
  private grantVideos(bucket: IBucket): void {
    const { api, copy, record, notify } = this.functions;
    const videoObjects = bucket.arnForObjects(`${VIDEO_PREFIX}*`);
    const allow = (fn: NodejsFunction, actions: string[]) => {
      fn.addEnvironment(Env.BucketName, bucket.bucketName);
      fn.addToRolePolicy(new PolicyStatement({ actions, resources: [videoObjects] }));
      acknowledgeWildcardResource(
        fn.role ?? fn,
        videoObjects,
        'Videos are stored as videos/<generation id>.mp4, one object per generation created at run time, ' +
          `so the grant names the ${VIDEO_PREFIX} prefix of this one bucket and only the actions this step needs.`,
      );
    };
    allow(copy, ['s3:PutObject', 's3:AbortMultipartUpload']);
    bucket.encryptionKey?.grantEncryptDecrypt(copy);
    for (const fn of [api, record, notify]) {
      allow(fn, ['s3:GetObject']);
      bucket.encryptionKey?.grantDecrypt(fn);
    }
  }
}

/**
 * `GetSecretValue` only: what `getSecret` calls. `ISecret.grantRead` would add
 * `DescribeSecret`, which no function calls (test/infra/least-privilege.test.ts).
 */
function grantSecretValue(secret: ISecret, fn: NodejsFunction): void {
  // A secret known by name only has a partial ARN; its full one ends in six random characters.
  const secretArn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }));
  // A secret under a customer managed key is decrypted by Secrets Manager on the function's behalf.
  secret.encryptionKey?.grantDecrypt(
    new ViaServicePrincipal(`secretsmanager.${Stack.of(fn).region}.amazonaws.com`, fn.grantPrincipal),
  );
}
