/**
 * What a `Video Generation Requested` event asks for (docs/events.md): the tenant
 * (`api_key_id`), an optional idempotency key, and the POST body. The event is refused
 * unless its `source` is {@link EVENT_SOURCE}: the rule in AWS matches only that source
 * and the bus's policy lets only the operator's principals put it, so this check keeps an
 * event that reached the function some other way (a direct invocation, a widened rule)
 * from acting as a tenant whose key id it merely knows.
 */
import { ApiError, ValidationError, type FieldIssue } from '#shared/errors.js';
import { EVENT_SOURCE } from '#shared/events/bus.js';

/** The fields of an EventBridge event the intake reads. */
export interface RequestedEventEnvelope {
  id: string;
  source: string;
  detail: unknown;
}

export interface GenerationRequest {
  apiKeyId: string;
  /** The event's own, or one derived from the event id, so a redelivered event starts nothing twice. */
  idempotencyKey: string;
  body: Record<string, unknown>;
}

/** Throws `Unauthorized` for a foreign source and `ValidationError` naming the field for a bad detail. */
export function readGenerationRequest(event: RequestedEventEnvelope): GenerationRequest {
  if (event.source !== EVENT_SOURCE) {
    throw new ApiError(
      'Unauthorized',
      `events from source ${JSON.stringify(event.source)} cannot start generations; only source "${EVENT_SOURCE}" is accepted`,
    );
  }
  const { detail } = event;
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new ValidationError([{ field: 'detail', message: 'must be a JSON object' }]);
  }
  const { api_key_id: apiKeyId, idempotency_key: idempotencyKey, ...body } = detail as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  if (typeof apiKeyId !== 'string' || apiKeyId === '') issues.push({ field: 'api_key_id', message: 'is required (the id of the API key the generation belongs to)' });
  if (idempotencyKey !== undefined && typeof idempotencyKey !== 'string') issues.push({ field: 'idempotency_key', message: 'must be a string' });
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    apiKeyId: apiKeyId as string,
    idempotencyKey: (idempotencyKey as string | undefined) ?? `eventbridge:${event.id}`,
    body,
  };
}
