/**
 * The facts every layer (functions, infra, local, cli, bench) must agree on, in one
 * module that imports nothing, so any layer can use it without pulling in an SDK.
 */

/** Environment variables the functions read and infra (or the local stack) sets. */
export const Env = {
  TableName: 'TABLE_NAME',
  BucketName: 'BUCKET_NAME',
  StateMachineArn: 'STATE_MACHINE_ARN',
  EventBusName: 'EVENT_BUS_NAME',
  ProviderBaseUrl: 'AIMLAPI_BASE_URL',
  ProviderSecretArn: 'AIMLAPI_SECRET_ARN',
  /** The provider key itself, which only local mode sets; in AWS it comes from the secret. */
  ProviderKey: 'AIMLAPI_KEY',
  /** Local mode's S3 stand-in serves paths, not bucket-named hostnames. */
  S3ForcePathStyle: 'REELHOOK_S3_FORCE_PATH_STYLE',
  PollFirstSeconds: 'REELHOOK_POLL_FIRST_SECONDS',
  PollMinSeconds: 'REELHOOK_POLL_MIN_SECONDS',
  PollMaxSeconds: 'REELHOOK_POLL_MAX_SECONDS',
  WaitScale: 'REELHOOK_WAIT_SCALE',
  MaxVideoBytes: 'REELHOOK_MAX_VIDEO_BYTES',
  RecordTtlDays: 'REELHOOK_RECORD_TTL_DAYS',
  RateLimitPerMinute: 'REELHOOK_RATE_LIMIT_PER_MINUTE',
  CallbackPolicy: 'REELHOOK_CALLBACK_POLICY',
  /** A fixed provider concurrency limit; unset = adaptive (functions/shared/admission/). */
  ProviderConcurrency: 'REELHOOK_PROVIDER_CONCURRENCY',
} as const;

/** Where the copies are stored: `videos/<generation id>.mp4`, one object per generation. */
export const VIDEO_PREFIX = 'videos/';
export const videoKeyFor = (generationId: string): string => `${VIDEO_PREFIX}${generationId}.mp4`;

/** CDK metadata naming a Lambda function's source entry, which the local stack reads back. */
export const ENTRY_METADATA_KEY = 'reelhook:entry';
/** CDK metadata naming what a resource is to reelhook where a stack has several of its type (the videos and access-log buckets). */
export const ROLE_METADATA_KEY = 'reelhook:role';

/** The range of a request's `timeout_seconds`; the longest is also the longest a generation runs. */
export const MIN_TIMEOUT_SECONDS = 30;
export const MAX_TIMEOUT_SECONDS = 86_400;

/** The largest video copied unless configured otherwise, and the most it may be configured to. */
export const DEFAULT_MAX_VIDEO_BYTES = 2 * 1024 ** 3;
/** What 15 minutes of the copy step can move at a rate a CDN reliably sustains. */
export const MAX_VIDEO_BYTES_LIMIT = 10 * 1024 ** 3;

export const DEFAULT_PROVIDER_BASE_URL = 'https://api.aimlapi.com';

/** Polling bounds when none are configured (what a deployment gets). */
export const DEFAULT_POLL_MIN_INTERVAL_SECONDS = 5;
export const DEFAULT_POLL_MAX_INTERVAL_SECONDS = 120;

/** The keys of a record's `timeline`: when each step happened. */
export const TimelineKey = {
  Accepted: 'accepted',
  ProviderAccepted: 'provider_accepted',
  ProviderDone: 'provider_done',
  Completed: 'completed',
  Failed: 'failed',
  Notified: 'notified',
  /** A create was sent again after one whose answer was lost (a crash): the provider may hold two jobs. */
  SubmissionRepeated: 'submission_repeated',
} as const;
export type TimelineKey = (typeof TimelineKey)[keyof typeof TimelineKey];

/**
 * Step Functions' event for an execution that changed status, and the ends after which
 * the release function gives back a provider slot the run may still hold (a stop skips
 * every Catch state). infra routes these events in AWS; the local engine raises them.
 */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
export const SLOT_RELEASING_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;
