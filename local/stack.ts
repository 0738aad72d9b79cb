/**
 * reelhook on one machine: the state machine definition and the handler code that
 * CDK deploys, run against local stand-ins that speak the real protocols
 * (dynalite for DynamoDB, s3rver for S3, a Step Functions API stand-in backed by an
 * ASL interpreter) and, without AIMLAPI_KEY, the built-in AI/ML API simulator.
 *
 * This module only composes; behaviour lives in the handlers. The handlers read
 * their configuration from the environment at import time, exactly as in Lambda, so
 * one process hosts one stack, and every stand-in a handler calls (Step Functions,
 * EventBridge) listens before the first handler is imported. dynalite, the HTTP API and
 * the step handlers each run on a thread of their own (local/threads/), which copies the
 * environment when it starts; the engine and the other stand-ins run on this one.
 */
import './outside-lambda.js';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiKeyStore, newApiKeySecret, RevokedApiKeyError, type IssuedApiKey } from '#shared/auth/api-keys.js';
import { callbackPolicyFromEnv, type CallbackPolicy } from '#shared/webhooks/callback-policy.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import type { ApiRequestRecord } from './api-gateway.js';
import { ensureTable } from './dynamodb.js';
import { localAwsEnvironment } from './environment.js';
import { startLocalEventBridge, type LocalBusRule, type LocalEventBridge } from './eventbridge.js';
import { startLocalS3 } from './s3.js';
import { deliveriesIn, LiveLog, type LiveLogSink } from './live-log.js';
import { startProviderSimulator, type ProviderSimulator, type ProviderSimulatorOptions } from './simulator/server.js';
import { LocalStepFunctions } from './stepfunctions/engine.js';
import { startLocalSfnServer, type LocalSfnServer } from './stepfunctions/server.js';
import { LOCAL_NAMES } from './names.js';
import type { LocalResourceNames } from './template/intrinsics.js';
import { eventRulesOf } from './template/event-rules.js';
import { resolveLocalManifest, type LocalFunction, type LocalManifest } from './template/manifest.js';
import { loadTemplate, type CfnTemplate } from './template/synth.js';
import { DEFAULT_PROVIDER_BASE_URL, Env } from '#shared/facts.js';
import { executionStatusChangeEvent, releaseFunction, releasesSlot } from './slot-release.js';
import { ServiceError, startServiceThread, type ServiceThread } from './threads/service-thread.js';
import type { DynamoDbServiceOptions } from './threads/dynamodb-service.js';
import type { HttpApiServiceOptions } from './threads/http-api-service.js';
import type { Invocation, LambdaServiceOptions } from './threads/lambda-service.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..');

export interface LocalStackOptions {
  /** Where records, videos and the execution journal live (REELHOOK_DATA_DIR). */
  dataDir: string;
  /** Port of the HTTP API on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /**
   * The API key `dev` accepts, and its webhook secret; made and kept in the data folder when
   * absent. Which values a user may set is the CLI's policy (cli/local-options.ts), checked
   * before the stack starts; the stack registers whatever key it is given.
   */
  apiKey?: string;
  webhookSecret?: string;
  /** The real AI/ML API key; absent → the built-in simulator. */
  providerKey?: string;
  providerBaseUrl?: string;
  /** REELHOOK_WAIT_SCALE: factor on every wait and retry delay (0 = none). */
  waitScale?: number;
  simulator?: Pick<ProviderSimulatorOptions, 'processingSeconds' | 'videoSizeBytes' | 'concurrency' | 'pollsToComplete'>;
  /** REELHOOK_PROVIDER_CONCURRENCY: a fixed provider concurrency limit; unset = adaptive. */
  providerConcurrency?: number;
  /** Which callback URLs are allowed; default REELHOOK_CALLBACK_POLICY, else `local`. */
  callbackPolicy?: CallbackPolicy;
  /** Powertools log level of the handlers (default REELHOOK_LOG_LEVEL, else POWERTOOLS_LOG_LEVEL, else SILENT). */
  logLevel?: string;
  /** Where the live log of requests and steps goes (`reelhook dev`); none when absent. */
  liveLog?: LiveLogSink;
  /**
   * Seconds a function may run before Lambda's timeout ends it, per handler entry
   * (`functions/copy/handler.ts`), instead of the template's Timeout: lets a test reach a
   * timeout without waiting minutes for it.
   */
  functionTimeoutSeconds?: Record<string, number>;
}

export interface LocalStack {
  url: string;
  apiKey: string;
  webhookSecret: string;
  keyId: string;
  providerBaseUrl: string;
  simulator: ProviderSimulator | null;
  engine: LocalStepFunctions;
  manifest: LocalManifest;
  names: LocalResourceNames;
  s3Endpoint: string;
  dynamoDbEndpoint: string;
  /** The Step Functions stand-in (for the AWS CLI or SDK: `--endpoint-url`). */
  sfnEndpoint: string;
  /** The EventBridge stand-in: its endpoint, and how events its rules routed (Video Generation Requested) ended. */
  eventBus: LocalEventBridge;
  /** Where every event put on the bus is appended, one JSON line each. */
  eventsFile: string;
  /** Executions that were in flight when the stack last stopped and were resumed. */
  resumed: string[];
  /** Closes the HTTP API only (the first step of a drain); close() still stops the rest. */
  stopAccepting(): Promise<void>;
  close(): Promise<void>;
}


/** The bus events go to locally; entries that name no bus land on it too. */
const EVENT_BUS_NAME = 'default';

/** How long close() lets running steps finish before stopping them where they are. */
const CLOSE_DRAIN_TIMEOUT_MS = 10_000;

/** Written in the data folder while a stack runs: where its stand-ins listen. */
export const ENDPOINTS_FILE = 'running-stack.json';

const DYNAMODB_SERVICE = new URL('./threads/dynamodb-service.ts', import.meta.url);
const HTTP_API_SERVICE = new URL('./threads/http-api-service.ts', import.meta.url);
const LAMBDA_SERVICE = new URL('./threads/lambda-service.ts', import.meta.url);

/** Seconds a simulated generation takes by default: the README's first command finishes quickly. */
const SIMULATOR_SECONDS = 3;

let running = false;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  if (running) throw new Error('a local reelhook stack is already running in this process');
  running = true;
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    running = false;
  };
  try {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });

    const dynamo = await startDynamo(dataDir);
    cleanups.push(() => dynamo.close());
    // The port is kept in the data folder: video URLs name it, and outlive this process.
    const s3 = await startLocalS3({ directory: join(dataDir, 's3'), portFile: join(dataDir, 's3-port.json'), buckets: [LOCAL_NAMES.bucketName] });
    cleanups.push(() => s3.close());

    let simulator: ProviderSimulator | null = null;
    let providerKey = options.providerKey;
    let providerBaseUrl = options.providerBaseUrl ?? DEFAULT_PROVIDER_BASE_URL;
    if (!providerKey) {
      providerKey = `sim_${randomBytes(16).toString('hex')}`;
      simulator = await startProviderSimulator({
        apiKey: providerKey,
        processingSeconds: options.simulator?.processingSeconds ?? SIMULATOR_SECONDS,
        videoSizeBytes: options.simulator?.videoSizeBytes,
        concurrency: options.simulator?.concurrency,
        pollsToComplete: options.simulator?.pollsToComplete,
        // Accepted jobs outlive a restart, as they would at the real provider.
        stateFile: join(dataDir, 'simulator.ndjson'),
      });
      cleanups.push(() => simulator!.close());
      providerBaseUrl = simulator.baseUrl;
    }

    const template = await loadTemplate();
    const manifest = withTimeouts(resolveLocalManifest(template, LOCAL_NAMES), options.functionTimeoutSeconds ?? {});
    // Off unless asked for: local clients (tests, dashboards) poll far faster than the deployed default allows.
    const rateLimitPerMinute = process.env[Env.RateLimitPerMinute] ?? '0';
    // Chosen before the functions' variables are merged in: the deployed value (public) is not local mode's.
    const callbackPolicy = options.callbackPolicy ?? callbackPolicyFromEnv({ [Env.CallbackPolicy]: process.env[Env.CallbackPolicy] });
    // A developer's AWS session must not leak into the local stand-ins' requests.
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL']) delete process.env[name];
    Object.assign(
      process.env,
      functionEnvironment(manifest.functions),
      localAwsEnvironment({ dynamoDbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint, region: LOCAL_NAMES.region }),
      {
        [Env.ProviderKey]: providerKey,
        [Env.ProviderBaseUrl]: providerBaseUrl,
        [Env.WaitScale]: String(options.waitScale ?? 1),
        [Env.CallbackPolicy]: callbackPolicy,
        // One state machine and one bus locally, whatever names the template gives them.
        [Env.StateMachineArn]: LOCAL_NAMES.stateMachineArn,
        [Env.EventBusName]: EVENT_BUS_NAME,
        [Env.RateLimitPerMinute]: rateLimitPerMinute,
        // The handlers' JSON lines would drown the live log: printed only when asked for.
        POWERTOOLS_LOG_LEVEL: (options.logLevel ?? (process.env.REELHOOK_LOG_LEVEL || process.env.POWERTOOLS_LOG_LEVEL || 'SILENT')).toUpperCase(),
      },
      options.providerConcurrency === undefined ? {} : { [Env.ProviderConcurrency]: String(options.providerConcurrency) },
      // The simulator finishes in seconds: poll it on that scale instead of a real model's minutes.
      simulator ? { [Env.PollFirstSeconds]: '1', [Env.PollMinSeconds]: '1', [Env.PollMaxSeconds]: '2' } : {},
    );

    await ensureTable(new DynamoDBClient({}), { TableName: LOCAL_NAMES.tableName, ...manifest.table.createTableInput });

    // Handlers are imported last, once everything they call listens; until then the engine
    // and the bus reach them through this map.
    const handlers = new Map<string, (payload: unknown) => Promise<unknown>>();
    const handlerOf = (fn: LocalFunction) => async (payload: unknown): Promise<unknown> => {
      const handler = handlers.get(fn.arn);
      if (!handler) throw new Error(`${fn.entry} is not loaded yet`);
      return handler(payload);
    };
    const workers = manifest.functions.filter((fn) => fn.logicalId !== manifest.apiFunction.logicalId);
    // Made once the key is known (its secrets are redacted); no execution runs before that.
    const live: { log?: LiveLog } = {};
    const engine = new LocalStepFunctions({
      definition: manifest.definition,
      stateMachineArn: LOCAL_NAMES.stateMachineArn,
      lambdaHandlers: Object.fromEntries(workers.map((fn) => [fn.arn, handlerOf(fn)])),
      waitScale: options.waitScale ?? 1,
      journalPath: join(dataDir, 'executions.ndjson'),
      // What AWS sends as "Step Functions Execution Status Change" to the release function.
      onExecutionEnded: async (execution) => {
        if (releasesSlot(execution)) await handlerOf(releaseFunction(manifest))(executionStatusChangeEvent(execution));
      },
      onHistoryEvent: (executionArn, event) => live.log?.historyEvent(executionArn, event),
    });
    // The handlers' thread stops once the engine has drained (cleanups run in reverse).
    const lambda: { thread?: ServiceThread<unknown> } = {};
    cleanups.push(async () => lambda.thread?.stop());
    // Steps already running finish before the stand-ins they write to go away; their
    // executions stay open in the journal and resume at the next start.
    cleanups.push(async () => {
      await engine.drain(CLOSE_DRAIN_TIMEOUT_MS);
      await engine.close();
    });
    const sfn: LocalSfnServer = await startLocalSfnServer(engine);
    cleanups.push(() => sfn.close());
    process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;

    const eventsFile = join(dataDir, 'events.ndjson');
    const eventBus = await startLocalEventBridge({
      busName: EVENT_BUS_NAME,
      logPath: eventsFile,
      rules: busRules(template, manifest, handlerOf),
      region: LOCAL_NAMES.region,
      accountId: LOCAL_NAMES.accountId,
    });
    cleanups.push(() => eventBus.close());
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBus.endpoint;

    // The step handlers on a loop of their own, like Lambda's (local/threads/lambda-service.ts).
    const lambdaOptions: LambdaServiceOptions = { functions: workers };
    const lambdaThread = await startServiceThread(LAMBDA_SERVICE, lambdaOptions);
    lambda.thread = lambdaThread;
    for (const fn of workers) handlers.set(fn.arn, (payload) => lambdaThread.request({ arn: fn.arn, payload } satisfies Invocation));

    const key = await ensureLocalApiKey(dataDir, options);
    live.log = options.liveLog && new LiveLog({
      sink: options.liveLog,
      definition: manifest.definition,
      secrets: [key.apiKey, key.webhookSecret, providerKey],
      deliveryOf: deliveriesIn(new GenerationStore(createDocumentClient(), LOCAL_NAMES.tableName)),
    });
    // The API on a loop of its own, started now that every variable its handler reads is set.
    const apiOptions: HttpApiServiceOptions = { apiFunction: manifest.apiFunction, port: options.port ?? 0, reportRequests: live.log !== undefined };
    const apiThread = await startServiceThread<{ url: string }>(HTTP_API_SERVICE, apiOptions, (request) => live.log?.request(request as ApiRequestRecord));
    const api = { url: apiThread.info.url, close: () => apiThread.stop() };
    cleanups.push(() => api.close());

    const resumed = await engine.resumeInterrupted();
    // Lets the CLI (`keys`, `generate`, `list`, …) reach this stack while the data folder is locked by it;
    // it holds the API key, so it is private to the user, like local-api-key.json.
    const endpointsFile = join(dataDir, ENDPOINTS_FILE);
    // A stale file left by a killed process keeps its mode on rewrite: start afresh.
    await rm(endpointsFile, { force: true });
    await writeFile(
      endpointsFile,
      JSON.stringify({
        pid: process.pid,
        url: api.url,
        apiKey: key.apiKey,
        dynamoDbEndpoint: dynamo.endpoint,
        sfnEndpoint: sfn.endpoint,
        tableName: LOCAL_NAMES.tableName,
      }),
      { mode: 0o600 },
    );
    cleanups.push(() => rm(endpointsFile, { force: true }));
    return {
      url: api.url,
      apiKey: key.apiKey,
      webhookSecret: key.webhookSecret,
      keyId: key.keyId,
      providerBaseUrl,
      simulator,
      engine,
      manifest,
      names: LOCAL_NAMES,
      s3Endpoint: s3.endpoint,
      dynamoDbEndpoint: dynamo.endpoint,
      sfnEndpoint: sfn.endpoint,
      eventBus,
      eventsFile,
      resumed,
      stopAccepting: () => api.close(),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** dynalite, on a loop of its own (local/threads/). */
async function startDynamo(dataDir: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  try {
    const options: DynamoDbServiceOptions = { directory: join(dataDir, 'dynamodb') };
    const thread: ServiceThread<{ endpoint: string }> = await startServiceThread(DYNAMODB_SERVICE, options);
    return { endpoint: thread.info.endpoint, close: () => thread.stop() };
  } catch (error) {
    if (error instanceof ServiceError && error.name === 'DataFolderLocked') {
      throw new Error(
        `another reelhook process is using ${dataDir}; stop it, set REELHOOK_DATA_DIR to another folder, or point REELHOOK_URL at the running server`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The template's EventBridge rules, one per target, each invoking its function's handler. */
function busRules(
  template: CfnTemplate,
  manifest: LocalManifest,
  handlerOf: (fn: LocalFunction) => (payload: unknown) => Promise<unknown>,
): LocalBusRule[] {
  return eventRulesOf(template).flatMap((rule) =>
    rule.functionLogicalIds.map((logicalId) => {
      const fn = manifest.functions.find((candidate) => candidate.logicalId === logicalId);
      if (!fn) throw new Error(`rule ${rule.logicalId} targets ${logicalId}, which has no handler entry in the template`);
      return { name: rule.logicalId, pattern: rule.pattern, target: handlerOf(fn) };
    }),
  );
}

/** The variables CDK gives the functions, as resolved for local names; Node's own options stay the process's. */
function functionEnvironment(functions: readonly LocalFunction[]): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) if (name !== 'NODE_OPTIONS') merged[name] = value;
  }
  return merged;
}

/** The manifest with some functions' timeouts replaced (see LocalStackOptions.functionTimeoutSeconds). */
function withTimeouts(manifest: LocalManifest, timeouts: Record<string, number>): LocalManifest {
  for (const entry of Object.keys(timeouts)) {
    if (!manifest.functions.some((fn) => fn.entry === entry)) throw new Error(`functionTimeoutSeconds names ${entry}, which is no function's entry`);
  }
  const adjust = (fn: LocalFunction): LocalFunction => ({ ...fn, timeoutSeconds: timeouts[fn.entry] ?? fn.timeoutSeconds });
  return { ...manifest, functions: manifest.functions.map(adjust), apiFunction: adjust(manifest.apiFunction) };
}

interface LocalKey {
  apiKey: string;
  webhookSecret: string;
  keyId: string;
}

/**
 * The key `dev` accepts: REELHOOK_API_KEY when given, else the key made on first start
 * and kept (mode 0600) in the data folder, so clients keep working across restarts. Its
 * webhook secret is the stored one (kept across restarts, and after `keys rotate-secret`)
 * unless REELHOOK_WEBHOOK_SECRET is given. A revoked key is refused, never brought back.
 */
async function ensureLocalApiKey(dataDir: string, options: LocalStackOptions): Promise<LocalKey> {
  const file = join(dataDir, 'local-api-key.json');
  let saved: { apiKey?: string; webhookSecret?: string } = {};
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as typeof saved;
  } catch {
    // First start: nothing saved yet.
  }
  const apiKey = options.apiKey ?? saved.apiKey ?? newApiKeySecret();
  const keys = new ApiKeyStore(createDocumentClient(), LOCAL_NAMES.tableName);
  let issued: IssuedApiKey;
  try {
    issued = await keys.register(apiKey, {
      name: 'local',
      webhookSecret: options.webhookSecret,
      // The saved secret only matters if the table lost the key (its folder was deleted).
      secretIfNew: apiKey === saved.apiKey ? saved.webhookSecret : undefined,
    });
  } catch (error) {
    if (!(error instanceof RevokedApiKeyError)) throw error;
    const remedy = options.apiKey
      ? 'set REELHOOK_API_KEY to an active key (`reelhook keys create`), or unset it to use the key dev keeps in its data folder'
      : `delete ${file} to have dev make a new key, or set REELHOOK_API_KEY to an active key`;
    const which = options.apiKey ? 'REELHOOK_API_KEY' : `the API key saved in ${file}`;
    throw new Error(`${which} is revoked (${error.keyId}, at ${error.revokedAt}): dev does not un-revoke keys; ${remedy}`, { cause: error });
  }
  if (!options.apiKey) await writeFile(file, JSON.stringify({ apiKey, webhookSecret: issued.webhook_secret }), { mode: 0o600 });
  return { apiKey, webhookSecret: issued.webhook_secret, keyId: issued.key_id };
}
