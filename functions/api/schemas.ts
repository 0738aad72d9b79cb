/**
 * zod schemas of what the API answers: the generation record, a page of them and the
 * error body. The OpenAPI document is generated from them, and the integration tests
 * parse live answers with them (strict objects), so the document cannot drift from
 * what the API sends. The request body's schemas live with its validation
 * (`#shared/generations/request.js`).
 */
// zod/mini as a namespace import keeps the Lambda bundles small (see #shared/provider/models.js).
import * as z from 'zod/mini';
import { ApiErrorName } from '#shared/errors.js';
import type { PublicGeneration } from '#shared/records/record.js';
import type { GenerationHistory } from '#shared/workflow/execution-history.js';
import { GENERATION_STATUSES } from './generations.js';

const timestamp = z.string().check(z.meta({ description: 'ISO-8601 time.', format: 'date-time' }));

const video = z
  .nullable(
    z.strictObject({
      url: z.string().check(z.meta({ description: 'Time-limited download URL of our copy.', format: 'uri' })),
      s3_uri: z.string().check(z.meta({ description: 's3://bucket/key of our copy.' })),
      size_bytes: z.int().check(z.minimum(0)),
      sha256: z.string().check(z.meta({ description: 'Hex SHA-256 of the video.' })),
      content_type: z.string(),
    }),
  )
  .check(z.meta({ description: 'Our copy of the video; null until the generation is completed.' }));

export const generationRecordSchema: z.ZodMiniType<PublicGeneration> = z
  .strictObject({
    id: z.string().check(z.meta({ description: 'The generation id (gen_…).' })),
    status: z.enum(GENERATION_STATUSES).check(
      z.meta({
        description: 'queued until the provider accepted the job, generating while it works and while the video is copied, completed once our copy is stored, error otherwise.',
      }),
    ),
    video,
    error: z
      .nullable(z.strictObject({ name: z.string(), message: z.string() }))
      .check(z.meta({ description: 'Why the generation failed: ProviderRejected, ProviderFailed, ProviderUnavailable, TimedOut, Cancelled, CopyFailed or InvalidVideo.' })),
    meta: z
      .nullable(z.strictObject({ usage: z.strictObject({ credits_used: z.number() }) }))
      .check(z.meta({ description: 'Provider usage, once known.' })),
    model: z.string(),
    prompt: z.string(),
    params: z.record(z.string(), z.unknown()).check(z.meta({ description: 'The provider parameters, with defaults applied.' })),
    metadata: z.record(z.string(), z.unknown()).check(z.meta({ description: 'The caller metadata, echoed.' })),
    provider: z.strictObject({
      generation_id: z.nullable(z.string()),
      status: z.nullable(z.string()),
      polls: z.optional(z.int().check(z.minimum(0), z.meta({ description: 'Status checks made so far.' }))),
    }),
    callback: z.strictObject({
      url: z.nullable(z.string()),
      state: z.enum(['none', 'pending', 'delivered', 'failed']),
      attempts: z.int().check(z.minimum(0)),
      last_status_code: z.nullable(z.int()),
      next_attempt_at: z.nullable(timestamp).check(z.meta({ description: 'When the next scheduled attempt is made, while the delivery is pending.' })),
      attempt_log: z
        .array(
          z.strictObject({
            attempt: z.int().check(z.minimum(1)),
            at: timestamp,
            trigger: z.enum(['schedule', 'retry_now']),
            result: z.enum(['delivered', 'failed', 'in_progress', 'unknown']),
            status_code: z.nullable(z.int()),
            duration_ms: z.nullable(z.int().check(z.minimum(0))),
            error: z.nullable(z.string()),
          }),
        )
        .check(z.meta({ description: 'The latest attempts (at most 20), oldest first.' })),
    }),
    timeline: z
      .record(z.string(), z.string())
      .check(z.meta({ description: 'When each step happened (accepted, provider_accepted, provider_done, completed | failed, notified).' })),
    created_at: timestamp,
    updated_at: timestamp,
    completed_at: z.nullable(timestamp),
    queue: z.optional(
      z
        .strictObject({ reason: z.literal('provider_capacity'), since: timestamp })
        .check(z.meta({ description: 'Present only while the generation waits `queued` for a provider slot: why, and since when.' })),
    ),
    estimate: z.optional(
      z
        .nullable(
          z.strictObject({
            completes_at: timestamp.check(z.meta({ description: 'When the provider is expected to finish (the median); the copy into S3 follows.' })),
            remaining_seconds: z.strictObject({
              p50: z.number().check(z.minimum(0)),
              p90: z.number().check(z.minimum(0)),
            }),
            basis: z.enum(['learned', 'default']).check(
              z.meta({ description: "learned: from this model's past provider durations; default: from the model's typical duration, while fewer than 3 are known or the job has outlasted them all." }),
            ),
            samples: z.int().check(z.minimum(0), z.meta({ description: 'Past durations behind a learned estimate (0 for the default).' })),
          }),
        )
        .check(
          z.meta({
            description: 'Time left while the provider works on the job, rendered by the API only (absent from webhook bodies and events); null while queued, while the video is copied, once finished, or when nothing is known.',
          }),
        ),
    ),
  })
  .check(z.meta({ title: 'Generation' }));

export const generationPageSchema = z
  .strictObject({
    data: z.array(generationRecordSchema),
    next_cursor: z.nullable(z.string()).check(z.meta({ description: 'Pass as `cursor` for the next page; null on the last one.' })),
  })
  .check(z.meta({ title: 'GenerationPage' }));

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      name: z.enum([...Object.values(ApiErrorName), 'InternalError']),
      message: z.string().check(z.meta({ description: 'For a ValidationError it starts with the offending field.' })),
      details: z.unknown().check(z.meta({ description: 'A ValidationError lists `{ field, message }` issues; others may carry context or null.' })),
    }),
  })
  .check(z.meta({ title: 'Error' }));

export const capacitySchema = z
  .strictObject({
    limit: z.int().check(z.minimum(1), z.meta({ description: 'Provider jobs allowed in flight at once: configured, or learned from 429s.' })),
    adaptive: z.boolean().check(z.meta({ description: 'True when the limit is learned (no REELHOOK_PROVIDER_CONCURRENCY / providerConcurrency).' })),
    in_use: z.int().check(z.minimum(0), z.meta({ description: 'Provider jobs in flight now (slots held).' })),
    queued: z.int().check(z.minimum(0), z.meta({ description: 'Generations waiting for a slot, all API keys together.' })),
    oldest_queued_since: z.nullable(timestamp),
    paused_until: z.nullable(timestamp).check(z.meta({ description: "Set while the provider's last 429 Retry-After lasts: nobody is submitted before it." })),
    rate_limited: z.int().check(z.minimum(0), z.meta({ description: '429s the provider has answered to creates, in total.' })),
  })
  .check(z.meta({ title: 'ProviderCapacity' }));

const stepError = z.strictObject({
  error: z.string().check(z.meta({ description: 'The error name (e.g. ProviderUnavailable, States.Timeout).' })),
  cause: z.nullable(z.string()).check(z.meta({ description: 'Its message, redacted and cut short.' })),
});

const stateSummary = z.strictObject({
  name: z.string().check(z.meta({ description: 'The state, e.g. Check Status.' })),
  type: z.string().check(z.meta({ description: 'Task, Wait, Choice, Pass, Succeed or Fail.' })),
  entered_at: timestamp,
  exited_at: z.nullable(timestamp).check(z.meta({ description: 'Null while the state runs.' })),
  duration_ms: z.nullable(z.int().check(z.minimum(0))),
  retries: z
    .array(z.strictObject({ at: timestamp, ...stepError.shape }))
    .check(z.meta({ description: 'Task attempts that failed and were tried again, oldest first.' })),
  error: z.nullable(stepError).check(z.meta({ description: 'The failure that ended the state (caught, or failing the execution).' })),
});

export const generationHistorySchema: z.ZodMiniType<GenerationHistory> = z
  .strictObject({
    generation_id: z.string(),
    execution_name: z.string().check(z.meta({ description: "The Step Functions execution of the generation's own run." })),
    execution: z
      .nullable(
        z.strictObject({
          status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
          started_at: z.nullable(timestamp),
          stopped_at: z.nullable(timestamp),
          error: z.nullable(stepError).check(z.meta({ description: 'Why a FAILED, TIMED_OUT or ABORTED execution ended.' })),
          states: z.array(stateSummary).check(z.meta({ description: 'The states entered, in order.' })),
          event_count: z.int().check(z.minimum(0), z.meta({ description: 'History events read.' })),
          truncated: z.boolean().check(z.meta({ description: "True when the history was longer than the 25,000 events read (Step Functions' own limit)." })),
        }),
      )
      .check(z.meta({ description: 'Null when the execution has not started yet, or is past Step Functions’ retention of histories.' })),
  })
  .check(z.meta({ title: 'GenerationHistory' }));

export const healthSchema = z.strictObject({ ok: z.literal(true) }).check(z.meta({ title: 'Health' }));
