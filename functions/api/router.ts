/**
 * The API's routes in one table (the OpenAPI document is checked against it), and the
 * pipeline every request goes through: match → authenticate → rate limit → route,
 * with every error turned into the contract's shape.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { ApiError, ValidationError } from '#shared/errors.js';
import type { GenerationRoutes } from './generations.js';
import { bearerToken, errorResponse, internalErrorResponse, json, readJsonBody, type ApiRequest, type ApiResponse } from './http.js';
import type { RateLimiter } from './rate-limit.js';

/** The active key for a bearer token, or null; read on every request (see handler.ts). */
export type Authenticate = (token: string) => Promise<ApiKeyRecord | null>;

export interface RouterDeps {
  authenticate: Authenticate;
  rateLimiter: Pick<RateLimiter, 'take'>;
  generations: GenerationRoutes;
  /** The provider queue as it is now (GET /v2/provider/capacity). */
  capacity: () => Promise<unknown>;
  /** The OpenAPI document served at /openapi.json. */
  openApiDocument: () => unknown;
  logger: Logger;
}

interface RouteContext {
  request: ApiRequest;
  /** Path parameters by name, decoded. */
  params: Record<string, string>;
  deps: RouterDeps;
}

export type OperationId =
  | 'health'
  | 'openApiDocument'
  | 'createGeneration'
  | 'getOrListGenerations'
  | 'getGeneration'
  | 'getGenerationHistory'
  | 'cancelGeneration'
  | 'redeliverWebhook'
  | 'createGenerationLegacy'
  | 'getGenerationLegacy'
  | 'getProviderCapacity';

interface RouteBase {
  method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI path template: `{name}` stands for one path segment. */
  path: string;
  operationId: OperationId;
}

/** Answered without an API key. */
interface PublicRoute extends RouteBase {
  public: true;
  answer(context: RouteContext): Promise<ApiResponse>;
}

interface AuthenticatedRoute extends RouteBase {
  public?: false;
  answer(context: RouteContext, caller: ApiKeyRecord): Promise<ApiResponse>;
}

export type Route = PublicRoute | AuthenticatedRoute;

const createGeneration: AuthenticatedRoute['answer'] = async ({ request, deps }, caller) =>
  json(200, await deps.generations.create(caller, readJsonBody(request), request.headers['idempotency-key']));

/** `?generation_id=` as sent: undefined when absent; present but empty is a caller error on every path. */
function queryGenerationId(query: Record<string, string>): string | undefined {
  const id = query.generation_id;
  if (id === '') throw new ValidationError([{ field: 'generation_id', message: 'must not be empty' }]);
  return id;
}

/** The AI/ML API reads a generation with `?generation_id=`; without it reelhook lists. */
const getOrList: AuthenticatedRoute['answer'] = async ({ request, deps }, caller) => {
  const id = queryGenerationId(request.query);
  return json(200, id !== undefined ? await deps.generations.get(caller, id) : await deps.generations.list(caller, request.query));
};

const getByQuery: AuthenticatedRoute['answer'] = async ({ request, deps }, caller) => {
  const id = queryGenerationId(request.query);
  if (id === undefined) throw new ValidationError([{ field: 'generation_id', message: 'is required' }]);
  return json(200, await deps.generations.get(caller, id));
};

const generationId = (params: Record<string, string>): string => params.generation_id ?? '';

/** The route table. The AI/ML API's legacy vendor path answers like its own path. */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/healthz', operationId: 'health', public: true, answer: async () => json(200, { ok: true }) },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    public: true,
    answer: async ({ deps }) => json(200, deps.openApiDocument()),
  },
  { method: 'POST', path: '/v2/video/generations', operationId: 'createGeneration', answer: createGeneration },
  { method: 'GET', path: '/v2/video/generations', operationId: 'getOrListGenerations', answer: getOrList },
  {
    method: 'GET',
    path: '/v2/video/generations/{generation_id}',
    operationId: 'getGeneration',
    answer: async ({ params, deps }, caller) => json(200, await deps.generations.get(caller, generationId(params))),
  },
  {
    method: 'GET',
    path: '/v2/video/generations/{generation_id}/history',
    operationId: 'getGenerationHistory',
    answer: async ({ params, deps }, caller) => json(200, await deps.generations.history(caller, generationId(params))),
  },
  {
    method: 'DELETE',
    path: '/v2/video/generations/{generation_id}',
    operationId: 'cancelGeneration',
    answer: async ({ params, deps }, caller) => json(200, await deps.generations.cancel(caller, generationId(params))),
  },
  {
    method: 'POST',
    path: '/v2/video/generations/{generation_id}/redeliver',
    operationId: 'redeliverWebhook',
    answer: async ({ params, deps }, caller) => json(202, await deps.generations.redeliver(caller, generationId(params))),
  },
  { method: 'POST', path: '/v2/generate/video/kling/generation', operationId: 'createGenerationLegacy', answer: createGeneration },
  { method: 'GET', path: '/v2/generate/video/kling/generation', operationId: 'getGenerationLegacy', answer: getByQuery },
  { method: 'GET', path: '/v2/provider/capacity', operationId: 'getProviderCapacity', answer: async ({ deps }) => json(200, await deps.capacity()) },
];

/** The route answering `method path` with its decoded path parameters, or null when none does. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | null {
  const segments = path.split('/');
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (!name) return part === segment;
      const value = decodeSegment(segment);
      if (!value) return false;
      params[name] = value;
      return true;
    });
    if (matches) return { route, params };
  }
  return null;
}

/** A path segment decoded, or null when it is empty or its %-encoding is malformed. */
function decodeSegment(segment: string): string | null {
  try {
    return segment === '' ? null : decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function createRouter(deps: RouterDeps): (request: ApiRequest) => Promise<ApiResponse> {
  const dispatch = async (request: ApiRequest): Promise<ApiResponse> => {
    const path = request.path.length > 1 ? request.path.replace(/\/+$/, '') : request.path;
    const matched = matchRoute(request.method, path);
    if (matched?.route.public) return matched.route.answer({ request, params: matched.params, deps });

    // Authentication comes before "no such route": without a key, nothing about the API is revealed.
    const token = bearerToken(request);
    const caller = token ? await deps.authenticate(token) : null;
    if (!caller) throw new ApiError('Unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
    await deps.rateLimiter.take(caller.key_id);
    if (!matched) throw new ApiError('NotFound', `no route for ${request.method} ${path}`);
    return matched.route.answer({ request, params: matched.params, deps }, caller);
  };

  return async (request) => {
    try {
      return await dispatch(request);
    } catch (error) {
      const known = errorResponse(error);
      if (known) return known;
      deps.logger.error('request failed', { method: request.method, path: request.path, error: error as Error });
      return internalErrorResponse();
    }
  };
}
