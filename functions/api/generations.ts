/**
 * The generation routes of docs/api.md: accept, read, list, cancel, redeliver, and the
 * history of the generation's execution.
 * Each generation belongs to the API key that created it; another key's id answers
 * 404 exactly like an unknown one, for every route.
 */
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { EventPublishFailed, GenerationErrorName, ValidationError, type FieldIssue } from '#shared/errors.js';
import { EventDetailType, type GenerationEvents } from '#shared/events/bus.js';
import { GenerationExecutions } from '#shared/workflow/executions.js';
import { summarizeExecutionHistory, type GenerationHistory } from '#shared/workflow/execution-history.js';
import { readExecutionHistory } from '#shared/workflow/history-reader.js';
import { isId } from '#shared/records/ids.js';
import { IN_FLIGHT_GRACE_MS, latestAttempt } from '#shared/webhooks/attempt-plan.js';
import { callbackFor, notificationOf, shownNotification, type RetryNowInput } from '#shared/webhooks/notification.js';
import { generationKey, ownerIndexKey, toPublicGeneration, type GenerationItem, type GenerationStatus, type PublicGeneration } from '#shared/records/record.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { presignVideoUrl } from '#shared/video/url.js';
import { GenerationAcceptance, type GenerationAcceptanceDeps } from '#shared/generations/acceptance.js';
import type { GenerationEstimates } from './estimates.js';
import { conflict, notFound } from './http.js';

export interface GenerationRoutesDeps extends GenerationAcceptanceDeps {
  /** Where a cancel announces `Video Generation Failed`. */
  events: GenerationEvents;
  /** Adds each answered record's `estimate`. */
  estimates: GenerationEstimates;
}

export interface GenerationPage {
  data: PublicGeneration[];
  next_cursor: string | null;
}

export const GENERATION_STATUSES: readonly GenerationStatus[] = ['queued', 'generating', 'completed', 'error'];
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const CANCELLED_MESSAGE = 'cancelled by the caller';

const isFinished = (status: GenerationStatus): boolean => status === 'completed' || status === 'error';

export class GenerationRoutes {
  private readonly acceptance: GenerationAcceptance;
  private readonly executions: GenerationExecutions;

  constructor(private readonly deps: GenerationRoutesDeps) {
    this.acceptance = new GenerationAcceptance(deps);
    this.executions = new GenerationExecutions(deps.sfn, deps.stateMachineArn);
  }

  /** See {@link GenerationAcceptance.accept}. */
  async create(caller: ApiKeyRecord, body: unknown, idempotencyKey?: string): Promise<PublicGeneration> {
    return this.withEstimate(await this.acceptance.accept(caller, body, idempotencyKey));
  }

  async list(caller: ApiKeyRecord, query: Record<string, string>): Promise<GenerationPage> {
    const { limit, status, startKey } = parseListQuery(query, caller.key_id);
    const page = await this.deps.store.listByOwner(caller.key_id, { limit, status, startKey });
    const records = await Promise.all(page.items.map((item) => this.presigned(item)));
    return { data: await this.deps.estimates.attach(records), next_cursor: page.lastKey ? encodeCursor(page.lastKey) : null };
  }

  async get(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    return this.toPublic(await this.owned(caller, id));
  }

  /**
   * The Step Functions history of the generation's own run (the execution named by its id),
   * summarized: the states entered, their durations, and the retries with their errors.
   */
  async history(caller: ApiKeyRecord, id: string): Promise<GenerationHistory> {
    await this.owned(caller, id);
    const read = await readExecutionHistory(this.deps.sfn, this.executions.executionArn(id));
    return { generation_id: id, execution_name: id, execution: read && summarizeExecutionHistory(read.events, { truncated: read.truncated }) };
  }

  /**
   * Ends a generation that has not finished as `error`/`Cancelled`, publishes `Video
   * Generation Failed`, stops its execution and starts one that only delivers
   * `generation.failed` (with the workflow's durable retries). A finished generation
   * answers 409.
   */
  async cancel(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    const item = await this.owned(caller, id);
    if (isFinished(item.status)) throw conflict(`generation ${id} has already finished (${item.status}) and cannot be cancelled`);
    const error = { name: GenerationErrorName.Cancelled, message: CANCELLED_MESSAGE };
    const cancelled = await this.deps.store.markFailed(id, error, callbackFor(item, 'generation.failed'), new Date().toISOString());
    if (!cancelled) throw conflict(`generation ${id} finished before it could be cancelled`);
    const generation = await this.toPublic(cancelled);
    try {
      await this.deps.events.publish(EventDetailType.Failed, generation);
    } catch (publishError) {
      if (!(publishError instanceof EventPublishFailed)) throw publishError;
      // The cancel stands. Left running, the generation's own execution meets the recorded
      // cancel at its next step and goes through Record Failure, which publishes the event
      // and delivers the webhook with the workflow's retries.
      this.deps.logger.warn('cancel event not published; the generation\'s execution will publish it', {
        generation_id: id,
        error_message: publishError.message,
      });
      return generation;
    }
    await this.executions.stop(id, { error: GenerationErrorName.Cancelled, cause: CANCELLED_MESSAGE });
    await this.executions.startOnce(`${id}-cancel`, { generation_id: id, notification: notificationOf(cancelled) });
    return generation;
  }

  /**
   * Delivers the webhook again: same event, same webhook-id, the attempt count carrying
   * on. A pending delivery gets its next attempt now ({@link retryNow}); a settled one
   * (delivered or failed) of a finished generation is reopened for a run of its own.
   * 409 when there is nothing to deliver.
   */
  async redeliver(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    const item = await this.owned(caller, id);
    const { callback } = item;
    if (callback.url && callback.webhook_id && callback.state === 'pending') return this.retryNow(item);
    if (!isFinished(item.status)) throw conflict(`generation ${id} has not finished; its webhook is sent when it does`);
    if (!callback.url || !callback.webhook_id || callback.state === 'none') {
      throw conflict(`generation ${id} has no webhook to deliver (no callback_url, or its event was not in callback_events)`);
    }
    const reopened = await this.deps.store.reopenCallback(id, callback.webhook_id, new Date().toISOString());
    if (!reopened) throw conflict(`the webhook of generation ${id} changed meanwhile; try again`);
    // Named by the attempt count, which every delivery run raises: each reopening starts a run of its own.
    await this.executions.startOnce(`${id}-redeliver-${callback.attempts}`, { generation_id: id, notification: notificationOf(reopened) });
    return this.toPublic(reopened);
  }

  /**
   * Starts a run that makes the pending delivery's next attempt at once, unless an attempt
   * is being sent right now. The run delivering the event keeps its schedule: it stops if
   * this attempt succeeds, and otherwise goes on from it. Named by the attempt count, so
   * repeated calls before the attempt is made start one run.
   */
  private async retryNow(item: GenerationItem): Promise<PublicGeneration> {
    const { callback } = item;
    const notification = shownNotification(item);
    const latest = latestAttempt(callback);
    const sending = latest !== undefined && !latest.finished && Date.parse(latest.at) + IN_FLIGHT_GRACE_MS > Date.now();
    if (notification && !sending) {
      const input: RetryNowInput = { generation_id: item.id, notification: { ...notification, retry_now_after: callback.attempts } };
      await this.executions.startOnce(`${item.id}-retry-now-${callback.attempts}`, input);
    }
    return this.toPublic(item);
  }

  private async owned(caller: ApiKeyRecord, id: string): Promise<GenerationItem> {
    // A malformed id is never looked up: it cannot exist, and an oversized one would make DynamoDB fail.
    if (!isId('gen', id)) throw notFound(`generation ${shown(id)}`);
    const item = await this.deps.store.get(id);
    if (!item || item.owner !== caller.key_id) throw notFound(`generation ${id}`);
    return item;
  }

  private async toPublic(item: GenerationItem): Promise<PublicGeneration> {
    return this.withEstimate(await this.presigned(item));
  }

  private async presigned(item: GenerationItem): Promise<PublicGeneration> {
    return toPublicGeneration(item, await presignVideoUrl(this.deps.s3, item.video));
  }

  private async withEstimate(record: PublicGeneration): Promise<PublicGeneration> {
    const [shown] = await this.deps.estimates.attach([record]);
    return shown ?? record;
  }
}

const MAX_SHOWN_ID_CHARS = 64;
/** The id as echoed in an error: a huge one is cut short rather than sent back whole. */
const shown = (id: string): string => (id.length > MAX_SHOWN_ID_CHARS ? `${id.slice(0, MAX_SHOWN_ID_CHARS)}…` : id);

function parseListQuery(
  query: Record<string, string>,
  owner: string,
): { limit: number; status?: GenerationStatus; startKey?: Record<string, unknown> } {
  const issues: FieldIssue[] = [];
  const limit = query.limit === undefined ? DEFAULT_PAGE_SIZE : /^\d+$/.test(query.limit) ? Number(query.limit) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    issues.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
  }
  const status = query.status as GenerationStatus | undefined;
  if (status !== undefined && !GENERATION_STATUSES.includes(status)) {
    issues.push({ field: 'status', message: `must be one of ${GENERATION_STATUSES.join(', ')}` });
  }
  let startKey: Record<string, unknown> | undefined;
  if (query.cursor !== undefined) {
    startKey = decodeCursor(query.cursor);
    // A cursor is only good for the tenant it was issued to, and only as the key of one of its records.
    if (!startKey || startKey[TableLayout.ownerIndex.partitionKey] !== ownerIndexKey(owner) || !isRecordKey(startKey)) {
      issues.push({ field: 'cursor', message: 'is not a cursor returned by this endpoint' });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { limit, status, startKey };
}

const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The keys a record of ours has (see newGenerationItem); a forged, oversized one would make DynamoDB fail. */
function isRecordKey(key: Record<string, unknown>): boolean {
  const pk = String(key[TableLayout.partitionKey]);
  const id = pk.slice(generationKey('').length);
  if (pk !== generationKey(id) || !isId('gen', id)) return false;
  const sortKey = String(key[TableLayout.ownerIndex.sortKey]);
  return sortKey.endsWith(`#${id}`) && CREATED_AT.test(sortKey.slice(0, -id.length - 1));
}

const encodeCursor = (key: Record<string, unknown>): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    // Exactly the key attributes, all strings: anything else is not a resume point DynamoDB should see.
    const entries = Object.entries(value);
    const keyNames = new Set([TableLayout.partitionKey, TableLayout.ownerIndex.partitionKey, TableLayout.ownerIndex.sortKey]);
    const wellFormed = entries.length === keyNames.size && entries.every(([name, item]) => keyNames.has(name as never) && typeof item === 'string');
    return wellFormed ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
