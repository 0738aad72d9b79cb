import { describe, expect, it, vi } from 'vitest';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { Logger } from '@aws-lambda-powertools/logger';
import type { GenerationRoutes } from '../../functions/api/generations.js';
import type { ApiRequest } from '../../functions/api/http.js';
import { RateLimiter } from '../../functions/api/rate-limit.js';
import { createRouter, matchRoute, ROUTES } from '../../functions/api/router.js';

const caller: ApiKeyRecord = {
  key_id: 'key_1',
  name: 'a',
  webhook_secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0',
  previous_webhook_secret: null,
  previous_webhook_secret_expires_at: null,
  created_at: '2025-01-01T00:00:00.000Z',
  revoked_at: null,
};

const request = (method: string, path: string, headers: Record<string, string> = {}, query: Record<string, string> = {}): ApiRequest => ({
  method,
  path,
  query,
  headers,
  body: null,
});

function router(overrides: { take?: (keyId: string) => Promise<void>; get?: () => Promise<unknown> } = {}) {
  const get = vi.fn(overrides.get ?? (async () => ({ id: 'gen_1' })));
  const list = vi.fn(async () => ({ data: [], next_cursor: null }));
  const generations = { get, list } as unknown as GenerationRoutes;
  return {
    generations: { get, list },
    route: createRouter({
      authenticate: async (token) => (token === 'rk_good' ? caller : null),
      rateLimiter: { take: overrides.take ?? (async () => undefined) },
      generations,
      capacity: async () => ({ limit: 4 }),
      openApiDocument: () => ({ openapi: '3.1.0' }),
      logger: new Logger({ logLevel: 'SILENT' }),
    }),
  };
}

const concrete = (path: string): string => path.replace(/\{\w+\}/g, 'gen_abc');

describe('matchRoute', () => {
  it('matches every route of the table, with its path parameters', () => {
    for (const route of ROUTES) {
      const matched = matchRoute(route.method, concrete(route.path));
      expect(matched?.route.operationId, `${route.method} ${route.path}`).toBe(route.operationId);
      if (route.path.includes('{generation_id}')) expect(matched?.params).toEqual({ generation_id: 'gen_abc' });
    }
  });

  it('matches nothing for other methods, extra segments or malformed escapes', () => {
    expect(matchRoute('PUT', '/v2/video/generations')).toBeNull();
    expect(matchRoute('GET', '/v2/video/generations/a/b')).toBeNull();
    expect(matchRoute('GET', '/v2/video/generations/%E0%A4%A')).toBeNull();
  });
});

describe('createRouter', () => {
  it('answers the public routes without a key', async () => {
    const { route } = router();
    expect((await route(request('GET', '/healthz'))).statusCode).toBe(200);
    expect(JSON.parse((await route(request('GET', '/openapi.json'))).body)).toEqual({ openapi: '3.1.0' });
  });

  it('answers 401 without a valid key before revealing whether a route exists, never echoing the key', async () => {
    const { route } = router();
    for (const path of ['/v2/video/generations', '/v2/nothing-here']) {
      const response = await route(request('GET', path, { authorization: 'Bearer rk_secret_value' }));
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body).error.name).toBe('Unauthorized');
      expect(response.body).not.toContain('rk_secret_value');
    }
  });

  it('answers 404 NotFound for an unknown route with a valid key', async () => {
    const { route } = router();
    const response = await route(request('GET', '/v2/nothing-here', { authorization: 'Bearer rk_good' }));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).error).toMatchObject({ name: 'NotFound' });
  });

  it('reads with generation_id and lists without it on the AI/ML API path', async () => {
    const { route, generations } = router();
    await route(request('GET', '/v2/video/generations', { authorization: 'Bearer rk_good' }, { generation_id: 'gen_1' }));
    expect(generations.get).toHaveBeenCalledWith(caller, 'gen_1');
    await route(request('GET', '/v2/video/generations/', { authorization: 'Bearer rk_good' }, { limit: '5' }));
    expect(generations.list).toHaveBeenCalledWith(caller, { limit: '5' });
  });

  it('requires generation_id on the legacy read path', async () => {
    const { route } = router();
    const response = await route(request('GET', '/v2/generate/video/kling/generation', { authorization: 'Bearer rk_good' }));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.message).toContain('generation_id');
  });

  it('answers 400 ValidationError naming generation_id for an empty generation_id on both read paths', async () => {
    const { route, generations } = router();
    for (const path of ['/v2/video/generations', '/v2/generate/video/kling/generation']) {
      const response = await route(request('GET', path, { authorization: 'Bearer rk_good' }, { generation_id: '' }));
      expect(response.statusCode, path).toBe(400);
      expect(JSON.parse(response.body).error).toMatchObject({
        name: 'ValidationError',
        message: 'generation_id: must not be empty',
        details: [{ field: 'generation_id', message: 'must not be empty' }],
      });
    }
    expect(generations.get).not.toHaveBeenCalled();
    expect(generations.list).not.toHaveBeenCalled();
  });

  it('answers 429 with Retry-After when the key is over its limit', async () => {
    let hits = 0;
    const fakeDb = { send: async () => ({ Attributes: { hits: ++hits } }) };
    const limiter = new RateLimiter(fakeDb as never, 'table', 2, () => 90_000);
    const { route } = router({ take: (keyId) => limiter.take(keyId) });
    const call = () => route(request('GET', '/v2/video/generations/gen_1', { authorization: 'Bearer rk_good' }));
    expect((await call()).statusCode).toBe(200);
    expect((await call()).statusCode).toBe(200);
    const limited = await call();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
    expect(JSON.parse(limited.body).error).toMatchObject({ name: 'RateLimited', details: { limit_per_minute: 2, retry_after_seconds: 30 } });
  });

  it('answers an unexpected failure with a 500 in the error shape and no internals', async () => {
    const { route } = router({
      get: async () => {
        throw new Error('connect ECONNREFUSED with rk_internal_detail');
      },
    });
    const response = await route(request('GET', '/v2/video/generations/gen_1', { authorization: 'Bearer rk_good' }));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).error.name).toBe('InternalError');
    expect(response.body).not.toContain('rk_internal_detail');
  });
});
