/**
 * Accepting a generation, the one path behind `POST /v2/video/generations` and the
 * intake of `Video Generation Requested` events: validate the body, honour the
 * Idempotency-Key, write the `queued` record, start its execution.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { ApiError, ApiErrorName } from '#shared/errors.js';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { GenerationExecutions } from '#shared/workflow/executions.js';
import { parseGenerationRequest, type GenerationRequest } from '#shared/generations/request.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import { bodyHash, checkIdempotencyKey, IDEMPOTENCY_HEADER, type IdempotencyStore } from '#shared/records/idempotency.js';
import { newId } from '#shared/records/ids.js';
import { newGenerationItem, toPublicGeneration, type GenerationItem, type PublicGeneration } from '#shared/records/record.js';
import { presignVideoUrl } from '#shared/video/url.js';

export interface GenerationAcceptanceDeps {
  store: GenerationStore;
  idempotency: IdempotencyStore;
  sfn: SFNClient;
  s3: S3Client;
  stateMachineArn: string;
  /** Days a new record is kept (DynamoDB TTL on `expires_at`); null keeps records until deleted. */
  recordTtlDays: number | null;
  logger: Logger;
}

const SECONDS_PER_DAY = 24 * 60 * 60;
/** The error a withdrawn generation's execution is stopped with, should its start have happened after all. */
const NOT_STARTED_ERROR = 'reelhook.NotStarted';

/**
 * @example
 * const acceptance = new GenerationAcceptance({ store, idempotency, sfn, s3, stateMachineArn, recordTtlDays: recordTtlDays() });
 * const generation = await acceptance.accept(caller, body, request.headers['idempotency-key']);
 */
export class GenerationAcceptance {
  private readonly executions: GenerationExecutions;

  constructor(private readonly deps: GenerationAcceptanceDeps) {
    this.executions = new GenerationExecutions(deps.sfn, deps.stateMachineArn);
  }

  /**
   * Accepts a generation. With an idempotency key, a repeat of the same body within
   * 24 h answers the generation the first request made (in its current state) and
   * starts nothing; another body under that key is a 409.
   */
  async accept(caller: ApiKeyRecord, body: unknown, idempotencyKey?: string): Promise<PublicGeneration> {
    if (idempotencyKey !== undefined) checkIdempotencyKey(idempotencyKey);
    const request = parseGenerationRequest(body);
    const now = new Date();
    let id = newId('gen', now.getTime());
    if (idempotencyKey !== undefined) {
      const hash = bodyHash(body);
      const claim = await this.deps.idempotency.claim(caller.key_id, idempotencyKey, { generation_id: id, body_hash: hash }, now.getTime());
      if (claim.body_hash !== hash) {
        throw new ApiError(ApiErrorName.Conflict, `this ${IDEMPOTENCY_HEADER} was used with a different body in the last 24 h; use a new key for a new request`);
      }
      id = claim.generation_id;
    }

    // Under a claimed id this runs once per request that holds the claim: the conditional
    // write keeps the first record, and the execution named by the id starts once.
    const item = this.newItem(id, caller, request, now);
    let stored: GenerationItem | null = null;
    try {
      await this.deps.store.create(item);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      stored = await this.deps.store.get(id);
      if (!stored) throw error;
    }
    try {
      const timeoutSeconds = (stored ?? item).timeout_seconds;
      await this.executions.startOnce(id, { generation_id: id, admission: { timeout_seconds: timeoutSeconds } });
    } catch (error) {
      // Under an Idempotency-Key the id is shared: a retry, or a concurrent request with
      // the same key whose start succeeded, carries the record on, so it stays.
      if (stored === null && idempotencyKey === undefined) await this.withdraw(id);
      throw error;
    }
    return stored ? toPublicGeneration(stored, await presignVideoUrl(this.deps.s3, stored.video)) : toPublicGeneration(item, null);
  }

  /**
   * Takes back the record of a request without an Idempotency-Key when its execution could
   * not be started: nothing else can ever start it, and a failed request must not leave a
   * generation `queued` with nothing to run it. A start reported as failed may still have
   * happened, so the execution is stopped first, and the record is deleted only while still
   * `queued`. Best effort: if this fails too, the caller still gets the start's error.
   */
  private async withdraw(id: string): Promise<void> {
    let deleted: boolean;
    try {
      await this.executions.stop(id, { error: NOT_STARTED_ERROR, cause: 'the request that created this generation failed' });
      deleted = await this.deps.store.deleteQueued(id);
    } catch (error) {
      this.deps.logger.error('generation left queued: its execution did not start, and its record could not be taken back', {
        generation_id: id,
        error_name: (error as Error).name,
        error_message: (error as Error).message,
      });
      return;
    }
    // Not queued any more: the start happened after all, and its run was just stopped.
    if (!deleted) this.deps.logger.error('generation record moved on while its failed start was withdrawn; its run was stopped', { generation_id: id });
  }

  private newItem(id: string, caller: ApiKeyRecord, request: GenerationRequest, now: Date): GenerationItem {
    const { recordTtlDays } = this.deps;
    const expiresAt = recordTtlDays === null ? undefined : Math.floor(now.getTime() / 1000) + recordTtlDays * SECONDS_PER_DAY;
    return newGenerationItem({ id, owner: caller.key_id, request, now, expiresAt });
  }

}
