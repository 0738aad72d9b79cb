/**
 * The generation record: what is stored in DynamoDB and what callers see
 * (docs/api.md, "The generation record").
 */
import { TimelineKey } from '#shared/facts.js';
import type { CallbackEventType, GenerationRequest } from '#shared/generations/request.js';
import type { GenerationEstimate } from '#shared/polling/estimate.js';

export type GenerationStatus = 'queued' | 'generating' | 'completed' | 'error';
export type CallbackState = 'none' | 'pending' | 'delivered' | 'failed';
export type WebhookEventType = CallbackEventType;

/** Our copy in S3, exactly as the copy step reports it. */
export interface StoredVideo {
  bucket: string;
  key: string;
  /** s3://bucket/key */
  s3_uri: string;
  size_bytes: number;
  /** Hex sha256 of the bytes stored. */
  sha256: string;
  /** e.g. video/mp4 */
  content_type: string;
}

export interface CallbackInfo {
  url: string | null;
  events: CallbackEventType[];
  state: CallbackState;
  attempts: number;
  last_status_code: number | null;
  /** The event being delivered; every attempt carries this webhook-id. */
  webhook_id: string | null;
  event_type: WebhookEventType | null;
  last_attempt_at: string | null;
  /**
   * An earlier event (generation.started) whose delivery was still pending when the
   * outcome's event took its place: it keeps being retried here, unseen in the public
   * record, so no pending delivery is dropped. Absent on records written before it existed.
   */
  superseded?: SupersededDelivery | null;
  /**
   * The latest attempts, keyed by attempt number (a map, so that each attempt writes only
   * its own entry and concurrent attempts never overwrite each other). Absent on records
   * written before it existed.
   */
  attempt_log?: Record<string, AttemptEntry>;
  /** When the schedule makes its next attempt; null while none is planned (or one is in flight). */
  next_attempt_at?: string | null;
}

/** What started an attempt: the workflow's retry schedule, or a redeliver call during a pending delivery. */
export type AttemptTrigger = 'schedule' | 'retry_now';

/** One webhook attempt as stored: written before the request is sent, completed with its result. */
export interface AttemptEntry {
  attempt: number;
  /** When the attempt started. */
  at: string;
  trigger: AttemptTrigger;
  /** False until the result is recorded: a crash after sending leaves it false. */
  finished: boolean;
  delivered: boolean;
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

export type SupersededDelivery = Pick<
  CallbackInfo,
  'webhook_id' | 'event_type' | 'state' | 'attempts' | 'last_status_code' | 'last_attempt_at' | 'attempt_log' | 'next_attempt_at'
>;

/** Where in the record a delivery's state lives. */
export type DeliverySlot = 'callback' | 'callback.superseded';

/** A generation as stored (DynamoDB item). Internal fields never leave the API. */
export interface GenerationItem {
  pk: string;
  id: string;
  /** The API key id that created it: tenant boundary. */
  owner: string;
  status: GenerationStatus;
  model: string;
  prompt: string;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  provider: { generation_id: string | null; status: string | null };
  /** The provider's temporary download URL (internal: the public record shows our copy). */
  provider_video_url: string | null;
  video: StoredVideo | null;
  error: { name: string; message: string } | null;
  meta: { usage: { credits_used: number } } | null;
  callback: CallbackInfo;
  timeout_seconds: number;
  deadline_at: string;
  polls: number;
  /** When each step happened, under the keys of TimelineKey (#shared/facts.js). */
  timeline: Record<string, string>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  gsi1pk: string;
  gsi1sk: string;
  /** Epoch seconds after which the record is gone (DynamoDB TTL); absent when records are kept. */
  expires_at?: number;
  /** While the generation waits for provider capacity (docs/api.md); null or absent otherwise. */
  queue?: QueueInfo | null;
  /**
   * When a create request was sent whose answer is not recorded yet. Found set by a re-run,
   * it means the earlier request was cut off and the provider may have made a job.
   */
  submitting_since?: string | null;
}

/** Why and since when a generation waits `queued`. */
export interface QueueInfo {
  reason: 'provider_capacity';
  since: string;
}

export interface PublicVideo {
  url: string;
  s3_uri: string;
  size_bytes: number;
  sha256: string;
  content_type: string;
}

/**
 * An attempt as callers see it. `result` is `in_progress` for the latest attempt while its
 * answer is awaited, and `unknown` for an attempt whose result was never recorded (the
 * notify step stopped after sending it).
 */
export interface PublicAttempt {
  attempt: number;
  at: string;
  trigger: AttemptTrigger;
  result: 'delivered' | 'failed' | 'in_progress' | 'unknown';
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

export interface PublicCallback {
  url: string | null;
  state: CallbackState;
  attempts: number;
  last_status_code: number | null;
  /** Set while the delivery is pending and its next attempt is scheduled. */
  next_attempt_at: string | null;
  /** The latest attempts, oldest first (at most {@link MAX_LOGGED_ATTEMPTS}). */
  attempt_log: PublicAttempt[];
}

/** Attempts kept in the record: enough to debug an endpoint, small enough for DynamoDB's 400 KB item limit. */
export const MAX_LOGGED_ATTEMPTS = 20;

export const UNRECORDED_RESULT = 'no result recorded: the notify step stopped during this attempt';

/** The attempt log of a delivery, oldest first, as callers see it; only a pending delivery has an attempt in progress. */
function publicAttemptLog(log: Record<string, AttemptEntry> | undefined, pending: boolean): PublicAttempt[] {
  const entries = Object.values(log ?? {}).sort((a, b) => a.attempt - b.attempt);
  const latest = entries[entries.length - 1]?.attempt;
  return entries.map((entry) => {
    const inProgress = pending && entry.attempt === latest;
    const result = entry.finished ? (entry.delivered ? 'delivered' : 'failed') : inProgress ? 'in_progress' : 'unknown';
    return {
      attempt: entry.attempt,
      at: entry.at,
      trigger: entry.trigger,
      result,
      status_code: entry.status_code,
      duration_ms: entry.duration_ms,
      error: result === 'unknown' ? UNRECORDED_RESULT : entry.error,
    };
  });
}

export interface PublicGeneration {
  id: string;
  status: GenerationStatus;
  video: PublicVideo | null;
  error: { name: string; message: string } | null;
  meta: { usage: { credits_used: number } } | null;
  model: string;
  prompt: string;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** `polls`: status checks made so far (absent from snapshots written before it existed). */
  provider: { generation_id: string | null; status: string | null; polls?: number };
  callback: PublicCallback;
  /** When each step happened: accepted, provider_accepted, provider_done, completed | failed, notified. */
  timeline: Record<string, string>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** Only while it waits for provider capacity. */
  queue?: QueueInfo;
  /** Rendered by the API only (null when none applies); never in webhook bodies or events. */
  estimate?: GenerationEstimate | null;
}

/** The caller's view: our copy's download URL instead of S3 internals, no tenant or bookkeeping fields. */
export function toPublicGeneration(item: GenerationItem, videoUrl: string | null): PublicGeneration {
  const { video } = item;
  return {
    id: item.id,
    status: item.status,
    video:
      video && videoUrl
        ? {
            url: videoUrl,
            s3_uri: video.s3_uri,
            size_bytes: video.size_bytes,
            sha256: video.sha256,
            content_type: video.content_type,
          }
        : null,
    error: item.error,
    meta: item.meta,
    model: item.model,
    prompt: item.prompt,
    params: item.params,
    metadata: item.metadata,
    provider: { ...item.provider, polls: item.polls },
    callback: {
      url: item.callback.url,
      state: item.callback.state,
      attempts: item.callback.attempts,
      last_status_code: item.callback.last_status_code,
      next_attempt_at: item.callback.state === 'pending' ? (item.callback.next_attempt_at ?? null) : null,
      attempt_log: publicAttemptLog(item.callback.attempt_log, item.callback.state === 'pending'),
    },
    timeline: item.timeline,
    created_at: item.created_at,
    updated_at: item.updated_at,
    completed_at: item.completed_at,
    ...(item.queue && item.status === 'queued' ? { queue: item.queue } : {}),
  };
}


export const generationKey = (id: string): string => `GEN#${id}`;
export const ownerIndexKey = (owner: string): string => `OWNER#${owner}`;

export interface NewGeneration {
  id: string;
  /** The API key id that makes it. */
  owner: string;
  request: GenerationRequest;
  now: Date;
  /** Epoch seconds after which the record counts as gone (record retention), if any. */
  expiresAt?: number;
}

/** A just-accepted generation, `queued`, as it is first written: the one place its shape is spelled out. */
export function newGenerationItem({ id, owner, request, now, expiresAt }: NewGeneration): GenerationItem {
  const at = now.toISOString();
  return {
    pk: generationKey(id),
    id,
    owner,
    status: 'queued',
    model: request.model,
    prompt: request.prompt,
    params: request.params,
    metadata: request.metadata,
    provider: { generation_id: null, status: null },
    provider_video_url: null,
    video: null,
    error: null,
    meta: null,
    callback: {
      url: request.callback_url,
      events: request.callback_events,
      state: 'none',
      attempts: 0,
      last_status_code: null,
      webhook_id: null,
      event_type: null,
      last_attempt_at: null,
      attempt_log: {},
      next_attempt_at: null,
    },
    timeout_seconds: request.timeout_seconds,
    deadline_at: new Date(now.getTime() + request.timeout_seconds * 1000).toISOString(),
    polls: 0,
    timeline: { [TimelineKey.Accepted]: at },
    created_at: at,
    updated_at: at,
    completed_at: null,
    gsi1pk: ownerIndexKey(owner),
    gsi1sk: `${at}#${id}`,
    ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
  };
}
