/**
 * The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the zod
 * schemas that validate requests and describe answers, and from the router's route
 * table: a route without a description here does not compile, and the tests check
 * that every route is in the document and that its examples pass validation.
 */
// zod/mini as a namespace import keeps the Lambda bundles small (see #shared/provider/models.js).
import * as z from 'zod/mini';
import { httpStatusOf, type ApiErrorName } from '#shared/errors.js';
import { CALLBACK_EVENT_TYPES, generationRequestJsonSchema, type CallbackEventType } from '#shared/generations/request.js';
import { IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS } from '#shared/records/idempotency.js';
import { DEFAULT_PAGE_SIZE, GENERATION_STATUSES, MAX_PAGE_SIZE } from './generations.js';
import { MAX_BODY_BYTES } from './http.js';
import { ROUTES, type OperationId } from './router.js';
import { capacitySchema, errorBodySchema, generationHistorySchema, generationPageSchema, generationRecordSchema, healthSchema } from './schemas.js';

type Json = Record<string, unknown>;

/** Request bodies shown in the document; each one passes `parseGenerationRequest`. */
export const REQUEST_EXAMPLES: Record<string, { summary: string; value: Json }> = {
  seeds: {
    summary: "The AI/ML API's own example",
    value: {
      model: 'kling-video/v1.6/standard/text-to-video',
      prompt: 'A cheerful white raccoon running through a sequoia forest',
      aspect_ratio: '16:9',
      duration: '5',
    },
  },
  webhook: {
    summary: 'With a webhook and metadata',
    value: {
      model: 'kling-video/v1.6/standard/text-to-video',
      prompt: 'A lighthouse at dusk, waves crashing',
      duration: 10,
      callback_url: 'https://example.com/hooks/reelhook',
      callback_events: ['generation.completed', 'generation.failed'],
      metadata: { order_id: 'ord_123' },
      timeout_seconds: 1800,
    },
  },
  camera: {
    summary: 'Kling v1 with a camera movement',
    value: {
      model: 'kling-video/v1/standard/text-to-video',
      prompt: 'A paper boat drifting down a rainy street',
      negative_prompt: 'people',
      cfg_scale: 0.6,
      advanced_camera_control: { movement_type: 'zoom', movement_value: 5 },
    },
  },
};

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json): Json => ({ 'application/json': { schema } });

function responseSchema(schema: z.ZodMiniType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Json;
  return rest;
}

/** The error answers an operation can give, each with the contract's error body. */
function errors(...names: ApiErrorName[]): Json {
  const descriptions: Record<ApiErrorName, string> = {
    ValidationError: 'The request is invalid; the message names the field.',
    Unauthorized: 'No API key, or an unknown or revoked one.',
    NotFound: "No such generation for this API key (another key's generations answer the same).",
    Conflict: 'The request conflicts with the state of the generation or with an earlier use of the Idempotency-Key.',
    PayloadTooLarge: `The body is over ${MAX_BODY_BYTES} bytes.`,
    UnsupportedMediaType: 'The body is not application/json.',
    RateLimited: 'Too many requests with this API key this minute; see Retry-After.',
  };
  const responses: Json = {};
  for (const name of ['Unauthorized', 'RateLimited', ...names] as ApiErrorName[]) {
    responses[String(httpStatusOf(name))] = {
      description: `${name}: ${descriptions[name]}`,
      ...(name === 'RateLimited' && {
        headers: { 'Retry-After': { description: 'Seconds until the next window.', schema: { type: 'integer', minimum: 1 } } },
      }),
      content: jsonContent(ref('Error')),
    };
  }
  responses['500'] = { description: 'InternalError: a failure on our side; the request may be retried.', content: jsonContent(ref('Error')) };
  return responses;
}

const generationIdInPath: Json = {
  name: 'generation_id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'The generation id (gen_…).',
};
const generationIdInQuery = (required: boolean): Json => ({
  name: 'generation_id',
  in: 'query',
  required,
  schema: { type: 'string' },
  description: 'The generation to read (the AI/ML API form).',
});

const recordResponse = (description: string): Json => ({ description, content: jsonContent(ref('Generation')) });

const createOperation = (summary: string, description: string): Json => ({
  summary,
  description,
  parameters: [
    {
      name: IDEMPOTENCY_HEADER,
      in: 'header',
      required: false,
      schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_CHARS },
      description:
        'The same key with the same body (same JSON, key order aside) from the same API key within 24 h answers the same generation and starts nothing; with another body it is a 409 Conflict.',
    },
  ],
  requestBody: { required: true, content: { 'application/json': { schema: ref('GenerationRequest'), examples: REQUEST_EXAMPLES } } },
  responses: {
    200: recordResponse('The accepted generation, `queued` (with an Idempotency-Key seen before: that generation, as it is now).'),
    ...errors('ValidationError', 'Conflict', 'PayloadTooLarge', 'UnsupportedMediaType'),
  },
});

const PUBLIC = { security: [] };

/** One description per operation of the route table. */
const OPERATIONS: Record<OperationId, Json> = {
  health: { ...PUBLIC, summary: 'Liveness', responses: { 200: { description: 'Up.', content: jsonContent(ref('Health')) } } },
  openApiDocument: {
    ...PUBLIC,
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
  },
  createGeneration: createOperation(
    'Start a generation',
    'The AI/ML API body of the chosen model plus callback_url, callback_events, metadata and timeout_seconds.',
  ),
  createGenerationLegacy: createOperation('Start a generation (legacy vendor path)', 'The same as POST /v2/video/generations.'),
  getOrListGenerations: {
    summary: 'Read one generation (with generation_id) or list your generations',
    description: `With \`generation_id\` this answers that generation, as the AI/ML API does. Without it, the caller's generations, newest first, ${DEFAULT_PAGE_SIZE} per page by default.`,
    parameters: [
      generationIdInQuery(false),
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE } },
      { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'The `next_cursor` of the previous page.' },
      { name: 'status', in: 'query', schema: { type: 'string', enum: GENERATION_STATUSES } },
    ],
    responses: {
      200: {
        description: 'The generation (with generation_id), else a page of generations.',
        content: jsonContent({ oneOf: [ref('Generation'), ref('GenerationPage')] }),
      },
      ...errors('ValidationError', 'NotFound'),
    },
  },
  getGenerationLegacy: {
    summary: 'Read one generation (legacy vendor path)',
    parameters: [generationIdInQuery(true)],
    responses: { 200: recordResponse('The generation.'), ...errors('ValidationError', 'NotFound') },
  },
  getGeneration: {
    summary: 'Read one generation',
    parameters: [generationIdInPath],
    responses: { 200: recordResponse('The generation.'), ...errors('NotFound') },
  },
  getGenerationHistory: {
    summary: "Read a generation's execution history",
    description:
      'The Step Functions execution of the generation, summarized: the states entered in order with their times and durations, ' +
      "each Task's retries with the error and its (redacted) cause, and the execution's status.",
    parameters: [generationIdInPath],
    responses: {
      200: { description: 'The summary; `execution` is null when the run has not started yet.', content: jsonContent(ref('GenerationHistory')) },
      ...errors('NotFound'),
    },
  },
  cancelGeneration: {
    summary: 'Cancel a generation',
    description: 'Ends a generation that has not finished as `error` with error name `Cancelled`, stops its work and delivers `generation.failed`.',
    parameters: [generationIdInPath],
    responses: { 200: recordResponse('The cancelled generation.'), ...errors('NotFound', 'Conflict') },
  },
  getProviderCapacity: {
    summary: 'The provider queue',
    description:
      "The provider account's concurrency limit (configured or learned), the slots in use, and how many generations wait for one. The same for every API key: the provider account is shared.",
    responses: { 200: { description: 'The provider queue now.', content: jsonContent(ref('ProviderCapacity')) }, ...errors() },
  },
  redeliverWebhook: {
    summary: 'Deliver the webhook again, or retry it now',
    description:
      'While the delivery is pending: makes its next attempt at once (retry now); the schedule goes on after it if that attempt fails. ' +
      'For a finished generation whose delivery has settled: sends its event again with the same webhook-id. Attempts keep counting either way, and the retry schedule goes on from that count.',
    parameters: [generationIdInPath],
    responses: { 202: recordResponse('The generation, its callback `pending`.'), ...errors('NotFound', 'Conflict') },
  },
};

/** When each webhook event is sent (docs/webhooks.md); one entry per event type, or this does not compile. */
const WEBHOOK_EVENTS: Record<CallbackEventType, { summary: string; description: string }> = {
  'generation.started': {
    summary: 'The provider accepted the job',
    description: 'Sent only when `callback_events` lists it. `data` is the record at the moment of the attempt.',
  },
  'generation.completed': {
    summary: 'The video is ready',
    description: 'Our copy of the video is stored: `data.status` is `completed` and `data.video.url` a fresh download URL, valid for 1 hour.',
  },
  'generation.failed': {
    summary: 'The generation failed',
    description: '`data.status` is `error` and `data.error.name` says why (ProviderRejected, ProviderFailed, ProviderUnavailable, TimedOut, Cancelled, CopyFailed or InvalidVideo), cancellation included.',
  },
};

/** The event body's schema name: `generation.completed` → `GenerationCompletedEvent`. */
const eventSchemaName = (type: CallbackEventType): string =>
  `${type.split('.').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}Event`;

const signatureHeader = (name: string, description: string): Json => ({ name, in: 'header', required: true, schema: { type: 'string' }, description });

const WEBHOOK_HEADERS: Json[] = [
  signatureHeader('webhook-id', 'The event id (msg_…): the same on every retry and redelivery of the event; deduplicate on it.'),
  signatureHeader('webhook-timestamp', 'Unix seconds when this attempt was signed; refuse it when more than 5 minutes off.'),
  signatureHeader(
    'webhook-signature',
    '`v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the base64-decoded part of the API key\'s `whsec_…` secret; two, space-separated, during a secret rotation.',
  ),
];

/** The Standard Webhooks POSTs reelhook sends to a generation's callback_url, one per event type. */
function webhooks(): { webhooks: Json; schemas: Json } {
  const webhooks: Json = {};
  const schemas: Json = {};
  for (const type of CALLBACK_EVENT_TYPES) {
    const { summary, description } = WEBHOOK_EVENTS[type];
    schemas[eventSchemaName(type)] = {
      title: eventSchemaName(type),
      type: 'object',
      properties: {
        type: { const: type },
        timestamp: { type: 'string', format: 'date-time', description: 'When the event happened; for an outcome, the completed_at of the generation.' },
        data: ref('Generation'),
      },
      required: ['type', 'timestamp', 'data'],
      additionalProperties: false,
    };
    webhooks[type] = {
      post: {
        operationId: `webhook_${type.replace('.', '_')}`,
        summary,
        description: `${description} Signed per Standard Webhooks; verify it with the \`standardwebhooks\` package or \`verifyWebhook\` of \`reelhook/client\`.`,
        // Signed with the webhook secret, not sent with an API key.
        security: [],
        parameters: WEBHOOK_HEADERS,
        requestBody: { required: true, content: jsonContent(ref(eventSchemaName(type))) },
        responses: {
          '2XX': { description: 'Delivered: any 2xx within 10 seconds.' },
          '4XX': { description: 'Not delivered: retried with backoff for at least 24 hours (429 honours Retry-After).' },
          '5XX': { description: 'Not delivered: retried with backoff for at least 24 hours (503 honours Retry-After).' },
        },
      },
    };
  }
  return { webhooks, schemas };
}

function buildDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = { operationId: route.operationId, ...OPERATIONS[route.operationId] };
  }
  const { $schema: _dialect, ...requestSchema } = generationRequestJsonSchema();
  const events = webhooks();
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'reelhook',
      version: '1',
      description:
        "Durable text-to-video generations with signed webhooks. A superset of the AI/ML API's /v2/video/generations: point a client at this base URL.",
      // As package.json (test/unit/api-openapi.test.ts compares them).
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: '{apiUrl}',
        description: "A deployed stack: its `ApiUrl` output (the API Gateway HTTP API's endpoint).",
        variables: { apiUrl: { default: 'https://abc123.execute-api.us-east-1.amazonaws.com', description: "The stack's ApiUrl output." } },
      },
      { url: 'http://127.0.0.1:{port}', description: '`reelhook dev` on this machine.', variables: { port: { default: '8787', description: 'dev --port.' } } },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    webhooks: events.webhooks,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key (rk_…) from `reelhook keys create`.' } },
      schemas: {
        GenerationRequest: requestSchema,
        Generation: responseSchema(generationRecordSchema),
        GenerationPage: responseSchema(generationPageSchema),
        GenerationHistory: responseSchema(generationHistorySchema),
        Error: responseSchema(errorBodySchema),
        Health: responseSchema(healthSchema),
        ProviderCapacity: responseSchema(capacitySchema),
        ...events.schemas,
      },
    },
  };
}

let document: Json | undefined;

/** Built on first use and kept: it only depends on the code. */
export function openApiDocument(): Json {
  document ??= buildDocument();
  return document;
}
