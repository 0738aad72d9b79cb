/**
 * The generation routes of CONTRACT.md §2: accept, read, list, cancel, redeliver.
 * Each generation belongs to the API key that created it; another key's id answers
 * 404 exactly like an unknown one, for every route.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ApiKeyRecord } from '#shared/api-keys.js';
import { isConditionFailure } from '#shared/dynamo.js';
import { GenerationErrorName, ValidationError, type FieldIssue } from '#shared/errors.js';
import { parseGenerationRequest, type GenerationRequest } from '#shared/generation-request.js';
import type { GenerationStore } from '#shared/generation-store.js';
import { bodyHash, checkIdempotencyKey, IDEMPOTENCY_HEADER, type IdempotencyStore } from '#shared/idempotency.js';
import { newId } from '#shared/ids.js';
import { callbackFor, notificationOf } from '#shared/notification.js';
import {
  generationKey,
  ownerIndexKey,
  toPublicGeneration,
  type GenerationItem,
  type GenerationStatus,
  type PublicGeneration,
} from '#shared/record.js';
import { TableLayout } from '#shared/table-layout.js';
import { presignVideoUrl } from '#shared/video-url.js';
import { GenerationExecutions } from './executions.js';
import { conflict, notFound } from './http.js';

export interface GenerationRoutesDeps {
  store: GenerationStore;
  idempotency: IdempotencyStore;
  sfn: SFNClient;
  s3: S3Client;
  stateMachineArn: string;
}

export interface GenerationPage {
  data: PublicGeneration[];
  next_cursor: string | null;
}

export const GENERATION_STATUSES: readonly GenerationStatus[] = ['queued', 'generating', 'completed', 'error'];
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const CANCELLED_MESSAGE = 'cancelled by the caller';

const isFinished = (status: GenerationStatus): boolean => status === 'completed' || status === 'error';

export class GenerationRoutes {
  private readonly executions: GenerationExecutions;

  constructor(private readonly deps: GenerationRoutesDeps) {
    this.executions = new GenerationExecutions(deps.sfn, deps.stateMachineArn);
  }

  /**
   * Accepts a generation. With an idempotency key, a repeat of the same body within
   * 24 h answers the generation the first request made (in its current state) and
   * starts nothing; another body under that key is a 409.
   */
  async create(caller: ApiKeyRecord, body: unknown, idempotencyKey?: string): Promise<PublicGeneration> {
    if (idempotencyKey !== undefined) checkIdempotencyKey(idempotencyKey);
    const request = parseGenerationRequest(body);
    const now = new Date();
    let id = newId('gen', now.getTime());
    if (idempotencyKey !== undefined) {
      const hash = bodyHash(body);
      const claim = await this.deps.idempotency.claim(caller.key_id, idempotencyKey, { generation_id: id, body_hash: hash }, now.getTime());
      if (claim.body_hash !== hash) {
        throw conflict(`this ${IDEMPOTENCY_HEADER} was used with a different body in the last 24 h; use a new key for a new request`);
      }
      id = claim.generation_id;
    }

    // Under a claimed id this runs once per request that holds the claim: the conditional
    // write keeps the first record, and the execution named by the id starts once.
    const item = newGenerationItem(id, caller, request, now);
    let stored: GenerationItem | null = null;
    try {
      await this.deps.store.create(item);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      stored = await this.deps.store.get(id);
      if (!stored) throw error;
    }
    await this.executions.startOnce(id, { generation_id: id });
    return stored ? this.toPublic(stored) : toPublicGeneration(item, null);
  }

  async list(caller: ApiKeyRecord, query: Record<string, string>): Promise<GenerationPage> {
    const { limit, status, startKey } = parseListQuery(query, caller.key_id);
    const page = await this.deps.store.listByOwner(caller.key_id, { limit, status, startKey });
    const data = await Promise.all(page.items.map((item) => this.toPublic(item)));
    return { data, next_cursor: page.lastKey ? encodeCursor(page.lastKey) : null };
  }

  async get(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    return this.toPublic(await this.owned(caller, id));
  }

  /**
   * Ends a generation that has not finished as `error`/`Cancelled`, stops its execution
   * and starts one that only delivers `generation.failed` (with the workflow's durable
   * retries). A finished generation answers 409.
   */
  async cancel(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    const item = await this.owned(caller, id);
    if (isFinished(item.status)) throw conflict(`generation ${id} has already finished (${item.status}) and cannot be cancelled`);
    const error = { name: GenerationErrorName.Cancelled, message: CANCELLED_MESSAGE };
    const cancelled = await this.deps.store.markFailed(id, error, callbackFor(item, 'generation.failed'), new Date().toISOString());
    if (!cancelled) throw conflict(`generation ${id} finished before it could be cancelled`);
    await this.executions.stop(id, { error: GenerationErrorName.Cancelled, cause: CANCELLED_MESSAGE });
    await this.executions.startOnce(`${id}-cancel`, { generation_id: id, notification: notificationOf(cancelled) });
    return this.toPublic(cancelled);
  }

  /**
   * Delivers the finished generation's webhook again: same event, same webhook-id, the
   * attempt count carrying on. 409 unless the generation finished with a callback whose
   * delivery has settled (delivered or failed).
   */
  async redeliver(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    const item = await this.owned(caller, id);
    const { callback } = item;
    if (!isFinished(item.status)) throw conflict(`generation ${id} has not finished; its webhook is sent when it does`);
    if (!callback.url || !callback.webhook_id || callback.state === 'none') {
      throw conflict(`generation ${id} has no webhook to deliver (no callback_url, or its event was not in callback_events)`);
    }
    if (callback.state === 'pending') throw conflict(`the webhook of generation ${id} is being delivered already`);
    const reopened = await this.deps.store.recordCallbackAttempt(id, callback.webhook_id, {
      state: 'pending',
      attempts: callback.attempts,
      last_status_code: callback.last_status_code,
      last_attempt_at: null,
    });
    if (!reopened) throw conflict(`the webhook of generation ${id} changed meanwhile; try again`);
    // Named by the attempt count: concurrent redeliveries of one settled delivery start one run.
    await this.executions.startOnce(`${id}-redeliver-${callback.attempts}`, { generation_id: id, notification: notificationOf(reopened) });
    return this.toPublic(reopened);
  }

  private async owned(caller: ApiKeyRecord, id: string): Promise<GenerationItem> {
    const item = await this.deps.store.get(id);
    if (!item || item.owner !== caller.key_id) throw notFound(`generation ${id}`);
    return item;
  }

  private async toPublic(item: GenerationItem): Promise<PublicGeneration> {
    return toPublicGeneration(item, await presignVideoUrl(this.deps.s3, item.video));
  }
}

function newGenerationItem(id: string, caller: ApiKeyRecord, request: GenerationRequest, now: Date): GenerationItem {
  const at = now.toISOString();
  return {
    pk: generationKey(id),
    id,
    owner: caller.key_id,
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
    },
    timeout_seconds: request.timeout_seconds,
    deadline_at: new Date(now.getTime() + request.timeout_seconds * 1000).toISOString(),
    polls: 0,
    timeline: { accepted: at },
    created_at: at,
    updated_at: at,
    completed_at: null,
    gsi1pk: ownerIndexKey(caller.key_id),
    gsi1sk: `${at}#${id}`,
  };
}

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
    // A cursor is only good for the tenant it was issued to.
    if (!startKey || startKey[TableLayout.ownerIndex.partitionKey] !== ownerIndexKey(owner)) {
      issues.push({ field: 'cursor', message: 'is not a cursor returned by this endpoint' });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { limit, status, startKey };
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
