/**
 * The shapes the reelhook API sends and takes (docs/api.md), written out for the published
 * client: its .d.ts files must stand alone, without the server's modules. They cannot drift
 * from the server: test/unit/client-types.test.ts checks at compile time that each one is the
 * same type as the zod schema the API answers with (functions/api/schemas.ts), and that the
 * request body names the same fields as the schema the API validates with.
 */

export type GenerationStatus = 'queued' | 'generating' | 'completed' | 'error';

/** Error names the API answers with (`error.name` of a non-2xx answer). */
export type ApiErrorName =
  | 'ValidationError'
  | 'Unauthorized'
  | 'NotFound'
  | 'Conflict'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'RateLimited';

/** Why a generation failed (the record's `error.name`). */
export type GenerationErrorName =
  | 'ProviderRejected'
  | 'ProviderFailed'
  | 'ProviderUnavailable'
  | 'TimedOut'
  | 'Cancelled'
  | 'CopyFailed'
  | 'InvalidVideo';

export type WebhookEventType = 'generation.started' | 'generation.completed' | 'generation.failed';

export type ModelId = 'kling-video/v1/standard/text-to-video' | 'kling-video/v1.6/standard/text-to-video';

/** Our copy of the video. */
export interface Video {
  /** Time-limited download URL. */
  url: string;
  s3_uri: string;
  size_bytes: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  content_type: string;
}

/** One webhook attempt. */
export interface WebhookAttempt {
  attempt: number;
  at: string;
  trigger: 'schedule' | 'retry_now';
  result: 'delivered' | 'failed' | 'in_progress' | 'unknown';
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

export interface Callback {
  url: string | null;
  state: 'none' | 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
  /** The latest attempts, oldest first. */
  attempt_log: WebhookAttempt[];
}

/** The generation record (docs/api.md, "The generation record"). */
export interface Generation {
  id: string;
  status: GenerationStatus;
  video: Video | null;
  /** `name` is a {@link GenerationErrorName}. */
  error: { name: string; message: string } | null;
  meta: { usage: { credits_used: number } } | null;
  model: string;
  prompt: string;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** `polls`: status checks made so far. */
  provider: { generation_id: string | null; status: string | null; polls?: number };
  callback: Callback;
  /** When each step happened: accepted, provider_accepted, provider_done, completed | failed, notified. */
  timeline: Record<string, string>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** Only while the generation waits `queued` for provider capacity. */
  queue?: { reason: 'provider_capacity'; since: string };
  /** While the provider works: when it is expected to finish, from the model's past durations (see docs/api.md). */
  estimate?: Estimate | null;
}

export interface Estimate {
  completes_at: string;
  remaining_seconds: { p50: number; p90: number };
  basis: 'learned' | 'default';
  samples: number;
}

export interface GenerationPage {
  data: Generation[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** An error of a step: its name, and its cause redacted and cut to 500 characters. */
export interface StepError {
  error: string;
  cause: string | null;
}

export interface StepRetry extends StepError {
  /** When the attempt that was retried failed. */
  at: string;
}

/** One state the run entered. */
export interface StateSummary {
  name: string;
  /** Task, Wait, Choice, Pass, Succeed or Fail. */
  type: string;
  entered_at: string;
  /** Null while the state runs. */
  exited_at: string | null;
  duration_ms: number | null;
  /** The Task attempts that failed and were tried again, oldest first. */
  retries: StepRetry[];
  /** The failure that ended the state (caught, or failing the execution). */
  error: StepError | null;
}

export interface ExecutionSummary {
  status: ExecutionStatus;
  started_at: string | null;
  stopped_at: string | null;
  /** Why a FAILED, TIMED_OUT or ABORTED execution ended. */
  error: StepError | null;
  /** The states entered, in order. */
  states: StateSummary[];
  /** History events read. */
  event_count: number;
  /** True when the history was longer than the 25,000 events read. */
  truncated: boolean;
}

/** The answer of `GET /v2/video/generations/{id}/history`: the generation's own Step Functions run. */
export interface GenerationHistory {
  generation_id: string;
  execution_name: string;
  /** Null when the run has not started yet, or is past Step Functions' retention of histories. */
  execution: ExecutionSummary | null;
}

/** The body of `POST /v2/video/generations`: the AI/ML API fields of the model plus reelhook's extensions. */
export interface CreateGenerationBody {
  model: ModelId;
  prompt: string;
  duration?: 5 | 10 | '5' | '10';
  aspect_ratio?: '16:9' | '9:16' | '1:1';
  negative_prompt?: string;
  /** 0 to 1. */
  cfg_scale?: number;
  /** kling v1 only. */
  camera_control?: 'down_back' | 'forward_up' | 'right_turn_forward' | 'left_turn_forward';
  /** kling v1 only; movement_value is an integer from -10 to 10. */
  advanced_camera_control?: { movement_type: 'horizontal' | 'vertical' | 'pan' | 'tilt' | 'roll' | 'zoom'; movement_value: number };
  callback_url?: string | null;
  /** Default: generation.completed and generation.failed; [] sends none. */
  callback_events?: WebhookEventType[];
  /** Echoed in the record, webhooks and events; at most 4 KiB as JSON. */
  metadata?: Record<string, unknown>;
  /** Give up (TimedOut) this long after acceptance: 30 to 86400, default 3600. */
  timeout_seconds?: number;
}

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: { name: ApiErrorName | 'InternalError'; message: string; details?: unknown };
}

interface WebhookEventOf<T extends WebhookEventType, D extends Generation> {
  type: T;
  /** When the event happened (for an outcome, the generation's completed_at). */
  timestamp: string;
  /** The record as the API answered at the moment of the attempt. */
  data: D;
}

export type GenerationStartedEvent = WebhookEventOf<'generation.started', Generation>;
export type GenerationCompletedEvent = WebhookEventOf<'generation.completed', Generation & { status: 'completed'; video: Video }>;
export type GenerationFailedEvent = WebhookEventOf<'generation.failed', Generation & { status: 'error'; error: { name: string; message: string } }>;

/** A verified webhook body; narrow it on `type`. */
export type WebhookEvent = GenerationStartedEvent | GenerationCompletedEvent | GenerationFailedEvent;
