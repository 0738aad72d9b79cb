/** Maps method + path to a route, authenticates, and turns errors into the contract's shape. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ApiKeyStore } from '#shared/api-keys.js';
import { ApiError } from '#shared/errors.js';
import type { GenerationRoutes } from './generations.js';
import { bearerToken, errorResponse, internalErrorResponse, json, readJsonBody, type ApiRequest, type ApiResponse } from './http.js';

export interface RouterDeps {
  keys: ApiKeyStore;
  generations: GenerationRoutes;
  logger: Logger;
}

/** The AI/ML API's own path and its legacy vendor path answer the same. */
const COLLECTION_PATHS = new Set(['/v2/video/generations', '/v2/generate/video/kling/generation']);
const ITEM_PATH = /^\/v2\/video\/generations\/([^/]+)$/;

export function createRouter(deps: RouterDeps): (request: ApiRequest) => Promise<ApiResponse> {
  const dispatch = async (request: ApiRequest): Promise<ApiResponse> => {
    const path = request.path.length > 1 ? request.path.replace(/\/+$/, '') : request.path;
    if (path === '/healthz' && request.method === 'GET') return json(200, { ok: true });

    const token = bearerToken(request);
    const caller = token ? await deps.keys.authenticate(token) : null;
    if (!caller) throw new ApiError('Unauthorized', 'a valid API key is required: Authorization: Bearer <key>');

    if (COLLECTION_PATHS.has(path)) {
      if (request.method === 'POST') return json(200, await deps.generations.create(caller, readJsonBody(request)));
      if (request.method === 'GET') {
        const id = request.query.generation_id;
        return json(200, id ? await deps.generations.get(caller, id) : await deps.generations.list(caller, request.query));
      }
    }
    const item = ITEM_PATH.exec(path);
    if (item?.[1] && request.method === 'GET') return json(200, await deps.generations.get(caller, decodeURIComponent(item[1])));
    throw new ApiError('NotFound', `no route for ${request.method} ${path}`);
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
