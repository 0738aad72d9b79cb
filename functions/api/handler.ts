/**
 * The HTTP API Lambda (API Gateway HTTP API, payload format 2.0). Locally the same
 * handler sits behind a small node:http adapter.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ApiKeyStore } from '#shared/auth/api-keys.js';
import { recordTtlDays, stateMachineArn, tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { eventBusName, GenerationEvents } from '#shared/events/bus.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { IdempotencyStore } from '#shared/records/idempotency.js';
import { createLogger } from '#shared/runtime/logger.js';
import { traceClient, tracedHandler } from '#shared/runtime/observability.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { DurationHistory } from '#shared/polling/duration-history.js';
import { waitScaleFromEnv } from '#shared/polling/bounds.js';
import { GenerationEstimates } from './estimates.js';
import { GenerationRoutes } from './generations.js';
import type { ApiRequest } from './http.js';
import { openApiDocument } from './openapi.js';
import { RateLimiter, rateLimitPerMinuteFromEnv } from './rate-limit.js';
import { createRouter } from './router.js';
import { admissionFromEnv, capacitySnapshot } from '#shared/admission/from-env.js';

const db = createDocumentClient();
const table = tableName();
const logger = createLogger('api');
const keys = new ApiKeyStore(db, table);
const admission = admissionFromEnv(db, table);
const route = createRouter({
  // The key is read on every request, never cached: a revoked key answers 401 from the very next
  // request on every instance (a cache of successes is what let a revoked key keep working). Only
  // the token's pointer to its key, which never changes, is remembered (ApiKeyStore).
  authenticate: (token) => keys.authenticate(token),
  rateLimiter: new RateLimiter(db, table, rateLimitPerMinuteFromEnv()),
  generations: new GenerationRoutes({
    store: new GenerationStore(db, table),
    idempotency: new IdempotencyStore(db, table),
    sfn: traceClient(new SFNClient({})),
    s3: createS3Client(),
    stateMachineArn: stateMachineArn(),
    recordTtlDays: recordTtlDays(),
    events: new GenerationEvents(traceClient(new EventBridgeClient({})), eventBusName()),
    estimates: new GenerationEstimates(new DurationHistory(db, table), { waitScale: waitScaleFromEnv() }),
    logger,
  }),
  capacity: () => capacitySnapshot(admission),
  openApiDocument,
  logger,
});

export const handler = tracedHandler('api', async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  // Base64 is decoded to bytes only: readJsonBody decodes them as UTF-8 and refuses what is not.
  const body = event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64') : (event.body ?? null);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query[name] = value;
  const request: ApiRequest = { method: event.requestContext.http.method.toUpperCase(), path: event.rawPath, query, headers, body };
  return route(request);
});
