/**
 * The generation routes of CONTRACT.md §2: accept, read. Each generation belongs to
 * the API key that created it; another key's id answers 404 exactly like an unknown one.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ApiKeyRecord } from '#shared/api-keys.js';
import { ValidationError, type FieldIssue } from '#shared/errors.js';
import { parseGenerationRequest } from '#shared/generation-request.js';
import type { GenerationStore } from '#shared/generation-store.js';
import { newId } from '#shared/ids.js';
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
import { notFound } from './http.js';

export interface GenerationRoutesDeps {
  store: GenerationStore;
  sfn: SFNClient;
  s3: S3Client;
  stateMachineArn: string;
}

export class GenerationRoutes {
  constructor(private readonly deps: GenerationRoutesDeps) {}

  async create(caller: ApiKeyRecord, body: unknown): Promise<PublicGeneration> {
    const request = parseGenerationRequest(body);
    const now = new Date();
    const at = now.toISOString();
    const id = newId('gen', now.getTime());
    const item: GenerationItem = {
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
    await this.deps.store.create(item);
    // The generation id is the execution name: a retried start cannot run it twice.
    await this.deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: this.deps.stateMachineArn,
        name: id,
        input: JSON.stringify({ generation_id: id }),
      }),
    );
    return toPublicGeneration(item, null);
  }

  async list(caller: ApiKeyRecord, query: Record<string, string>): Promise<{ data: PublicGeneration[]; next_cursor: string | null }> {
    const { limit, status, startKey } = parseListQuery(query, caller.key_id);
    const page = await this.deps.store.listByOwner(caller.key_id, { limit, status, startKey });
    const data = await Promise.all(
      page.items.map(async (item) => toPublicGeneration(item, await presignVideoUrl(this.deps.s3, item.video))),
    );
    return { data, next_cursor: page.lastKey ? encodeCursor(page.lastKey) : null };
  }

  async get(caller: ApiKeyRecord, id: string): Promise<PublicGeneration> {
    const item = await this.deps.store.get(id);
    if (!item || item.owner !== caller.key_id) throw notFound(`generation ${id}`);
    return toPublicGeneration(item, await presignVideoUrl(this.deps.s3, item.video));
  }
}

const STATUSES: readonly GenerationStatus[] = ['queued', 'generating', 'completed', 'error'];

function parseListQuery(
  query: Record<string, string>,
  owner: string,
): { limit: number; status?: GenerationStatus; startKey?: Record<string, unknown> } {
  const issues: FieldIssue[] = [];
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) issues.push({ field: 'limit', message: 'must be an integer from 1 to 100' });
  const status = query.status as GenerationStatus | undefined;
  if (status !== undefined && !STATUSES.includes(status)) issues.push({ field: 'status', message: `must be one of ${STATUSES.join(', ')}` });
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
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
