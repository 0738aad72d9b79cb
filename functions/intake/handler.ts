/**
 * Intake: starts a generation from an EventBridge event of detail-type `Video
 * Generation Requested` (docs/events.md), through the same path as
 * `POST /v2/video/generations`: same validation, same record, same idempotency.
 *
 * The detail is a POST body plus `api_key_id` (the tenant the generation belongs to)
 * and optionally `idempotency_key`. Without one, the event's own id is the key, so
 * EventBridge redelivering an event (it delivers at least once) starts nothing twice.
 * A rejected event throws: nothing is started, and the error shows in the logs (and
 * in the function's failure destination, if one is set).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { recordTtlDays, stateMachineArn, tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { ApiError, ValidationError, type FieldIssue } from '#shared/errors.js';
import { EventDetailType } from '#shared/events/bus.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { IdempotencyStore } from '#shared/records/idempotency.js';
import { createLogger } from '#shared/runtime/logger.js';
import { traceClient, tracedHandler } from '#shared/runtime/observability.js';
import type { PublicGeneration } from '#shared/records/record.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { GenerationAcceptance } from '#shared/generations/acceptance.js';

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
    const { apiKeyId, idempotencyKey, body } = splitDetail(event.detail);
    const caller = await keys.getById(apiKeyId);
    if (!caller || caller.revoked_at) throw new ApiError('Unauthorized', `api_key_id ${apiKeyId} is not an active API key`);
    const generation = await acceptance.accept(caller, body, idempotencyKey ?? `eventbridge:${event.id}`);
    logger.info('generation requested through EventBridge', { generation_id: generation.id, source: event.source });
    return generation;
  } catch (error) {
    logger.error('requested generation not started', { error_name: (error as Error).name, error_message: (error as Error).message });
    throw error;
  }
});

/** The POST body, and the two fields the event adds to it. */
function splitDetail(detail: unknown): { apiKeyId: string; idempotencyKey: string | undefined; body: Record<string, unknown> } {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new ValidationError([{ field: 'detail', message: 'must be a JSON object' }]);
  }
  const { api_key_id: apiKeyId, idempotency_key: idempotencyKey, ...body } = detail as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  if (typeof apiKeyId !== 'string' || apiKeyId === '') issues.push({ field: 'api_key_id', message: 'is required (the id of the API key the generation belongs to)' });
  if (idempotencyKey !== undefined && typeof idempotencyKey !== 'string') issues.push({ field: 'idempotency_key', message: 'must be a string' });
  if (issues.length > 0) throw new ValidationError(issues);
  return { apiKeyId: apiKeyId as string, idempotencyKey: idempotencyKey as string | undefined, body };
}
