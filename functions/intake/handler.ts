/**
 * Intake: starts a generation from an EventBridge event of detail-type `Video
 * Generation Requested` (docs/events.md), through the same path as
 * `POST /v2/video/generations`: same validation, same record, same idempotency.
 *
 * The detail is a POST body plus `api_key_id` (the tenant the generation belongs to)
 * and optionally `idempotency_key` (requested-event.ts); only events of source
 * `reelhook` are taken. A rejected event throws: nothing is started, and the
 * error shows in the logs (and in the function's failure destination, if one is set).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { recordTtlDays, stateMachineArn, tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { ApiError } from '#shared/errors.js';
import { EventDetailType } from '#shared/events/bus.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { IdempotencyStore } from '#shared/records/idempotency.js';
import { createLogger } from '#shared/runtime/logger.js';
import { traceClient, tracedHandler } from '#shared/runtime/observability.js';
import type { PublicGeneration } from '#shared/records/record.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { GenerationAcceptance } from '#shared/generations/acceptance.js';
import { readGenerationRequest } from './requested-event.js';

const db = createDocumentClient();
const table = tableName();
const keys = new ApiKeyStore(db, table);
const logger = createLogger('intake');
const acceptance = new GenerationAcceptance({
  store: new GenerationStore(db, table),
  idempotency: new IdempotencyStore(db, table),
  sfn: traceClient(new SFNClient({})),
  s3: createS3Client(),
  stateMachineArn: stateMachineArn(),
  recordTtlDays: recordTtlDays(),
  logger,
});

export type GenerationRequestedEvent = EventBridgeEvent<typeof EventDetailType.Requested, unknown>;

export const handler = tracedHandler('intake', async (event: GenerationRequestedEvent): Promise<PublicGeneration> => {
  logger.appendKeys({ event_id: event.id });
  try {
    const { apiKeyId, idempotencyKey, body } = readGenerationRequest(event);
    const caller = await keys.getById(apiKeyId);
    if (!caller || caller.revoked_at) throw new ApiError('Unauthorized', `api_key_id ${apiKeyId} is not an active API key`);
    const generation = await acceptance.accept(caller, body, idempotencyKey);
    logger.info('generation requested through EventBridge', { generation_id: generation.id, source: event.source });
    return generation;
  } catch (error) {
    logger.error('requested generation not started', {
      error_name: (error as Error).name,
      error_message: (error as Error).message,
      source: event.source,
    });
    throw error;
  }
});
