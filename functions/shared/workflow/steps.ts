/**
 * The data the state machine passes between steps (see infra/workflow.ts): the
 * execution carries only the generation id and each step's small result; the record
 * in DynamoDB is the source of truth.
 */
import { GenerationMissing, ReelhookError } from '#shared/errors.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import type { GenerationItem, StoredVideo } from '#shared/records/record.js';

/**
 * The JSONPaths infra/workflow.ts writes: where the state machine keeps each step's
 * result (the types below) and the fields its Wait and Choice states read.
 */
export const StatePath = {
  GenerationId: '$.generation_id',
  /** How long Wait For Provider Slot may wait (the generation's remaining seconds). */
  AdmissionTimeoutSeconds: '$.admission.timeout_seconds',
  TaskToken: '$$.Task.Token',
  Admitted: '$.admitted',
  QueueTimeoutSeconds: '$.poll.queue_timeout_seconds',
  Poll: '$.poll',
  PollStatus: '$.poll.status',
  NextCheckAt: '$.poll.next_check_at',
  Video: '$.video',
  Failure: '$.failure',
  Notification: '$.notification',
  NotificationOutcome: '$.notification.outcome',
  NotificationErrorName: '$.notification.error_name',
  NotificationErrorMessage: '$.notification.error_message',
  Delivery: '$.delivery',
  DeliveryDone: '$.delivery.done',
  NextAttemptAt: '$.delivery.next_attempt_at',
  DeliveryError: '$.delivery_error',
} as const;

export interface StepInput {
  generation_id: string;
}

/** The input of a generation's own run: Wait For Provider Slot waits at most `timeout_seconds`. */
export interface GenerationRunInput extends StepInput {
  admission: { timeout_seconds: number };
}

/** The payload of Wait For Provider Slot: the token that resumes it. */
export interface AdmitInput extends StepInput {
  task_token: string;
}

/**
 * Result of Submit Generation and Check Status, kept at `$.poll`. `busy`: the provider
 * answered 429 to the create; the run waits until `next_check_at` (its Retry-After) and
 * queues again for at most `queue_timeout_seconds`.
 */
export interface PollPlan {
  status: 'pending' | 'completed' | 'busy';
  polls: number;
  wait_seconds: number;
  /** Read by the Wait state's TimestampPath. */
  next_check_at: string;
  /** Checks that saw `completed` without a video URL, so far. */
  missing_url_checks?: number;
  /** With `busy`: the generation's seconds left when it queues again. */
  queue_timeout_seconds?: number;
  /** The provider job being polled, from Submit Generation on (absent from a plan made before it was carried). */
  job?: ProviderJob;
}

/**
 * What a run knows of its provider job from the create on, carried in every plan so that
 * a status check asks the provider without reading the record first.
 */
export interface ProviderJob {
  /** The provider's generation id. */
  id: string;
  /** The generation waited for its provider slot: its job's expected end is checked too (see planNextCheck). */
  waited_for_slot: boolean;
}

export interface StatusInput extends StepInput {
  poll: PollPlan;
}

/** The Catch output of a failed step: Lambda's error type and its JSON cause. */
export interface StepFailure {
  Error: string;
  Cause?: string;
}

export type RecordInput =
  | (StepInput & { outcome: 'completed'; video: StoredVideo })
  | (StepInput & { outcome: 'error'; failure: StepFailure });

/**
 * The event a delivery loop sends, kept at `$.notification`: the result of Record
 * Completion / Record Failure, or the input of a delivery-only execution (started,
 * cancel, redelivery). Only `error` fails the execution, with its name and message.
 */
export type Notification =
  | { outcome: 'started'; event_type: 'generation.started'; webhook_id: string }
  | { outcome: 'completed'; event_type: 'generation.completed'; webhook_id: string }
  | { outcome: 'error'; event_type: 'generation.failed'; webhook_id: string; error_name: string; error_message: string };

export interface NotifyInput extends StepInput {
  notification: Notification;
}

/** Result of Notify Callback, kept at `$.delivery`. */
export interface DeliveryPlan {
  done: boolean;
  next_attempt_at?: string;
}

/** The provider job a record names; GenerationMissing when it names none. */
export function providerJobOf(item: GenerationItem, waitedForSlot: boolean): ProviderJob {
  if (!item.provider.generation_id) throw new GenerationMissing(`generation ${item.id} has no provider id`);
  return { id: item.provider.generation_id, waited_for_slot: waitedForSlot };
}

export async function loadGeneration(store: GenerationStore, id: string): Promise<GenerationItem> {
  const item = await store.get(id);
  // Not a contract error: an execution for a record that does not exist is a bug, and should fail loudly.
  if (!item) throw new GenerationMissing(`generation ${id} is not in the table`);
  return item;
}

/** A generation that ended elsewhere (cancelled through the API) stops the step with that outcome. */
export function stopIfEnded(item: GenerationItem): void {
  if (item.status === 'error' && item.error) throw new ReelhookError(item.error.name, item.error.message);
}
