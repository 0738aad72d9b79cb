import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CALLBACK_EVENT_TYPES, generationRequestJsonSchema, parseGenerationRequest } from '#shared/generations/request.js';
import { openApiDocument, REQUEST_EXAMPLES } from '../../functions/api/openapi.js';
import { ROUTES } from '../../functions/api/router.js';

const document = openApiDocument() as Record<string, any>;
const METHODS = new Set(['get', 'post', 'delete', 'put', 'patch']);

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with bearer security', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
  });

  it('documents every route the router answers, and no other', () => {
    const routed = ROUTES.map((route) => `${route.method} ${route.path}`).sort();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, item]) => Object.keys(item).filter((key) => METHODS.has(key)).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(routed);
    for (const route of ROUTES) {
      const operation = document.paths[route.path][route.method.toLowerCase()];
      expect(operation.operationId).toBe(route.operationId);
      expect(operation.responses, route.operationId).toBeDefined();
      // Public routes opt out of the global bearer requirement; the others keep it.
      expect(operation.security, route.operationId).toEqual(route.public ? [] : undefined);
    }
  });

  it('takes the request body schema from the validation schemas', () => {
    const { $schema: _dialect, ...schema } = generationRequestJsonSchema();
    expect(document.components.schemas.GenerationRequest).toEqual(schema);
  });

  it('has example request bodies that pass validation', () => {
    const examples = document.paths['/v2/video/generations'].post.requestBody.content['application/json'].examples;
    expect(Object.keys(examples).length).toBeGreaterThan(0);
    expect(examples).toEqual(REQUEST_EXAMPLES);
    for (const [name, example] of Object.entries(examples as Record<string, { value: unknown }>)) {
      expect(() => parseGenerationRequest(example.value), name).not.toThrow();
    }
  });

  it('describes the Idempotency-Key header, the list query and the error shape', () => {
    const create = document.paths['/v2/video/generations'].post;
    expect(create.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', schema: expect.objectContaining({ maxLength: 255 }) }));
    const list = document.paths['/v2/video/generations'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['generation_id', 'limit', 'cursor', 'status']);
    expect(document.components.schemas.Error.properties.error.required).toEqual(expect.arrayContaining(['name', 'message']));
    expect(create.responses['429'].headers['Retry-After']).toBeDefined();
  });

  it("names the servers and package.json's license", () => {
    const { license } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string };
    expect(document.info.license).toEqual({ name: license, identifier: license });
    expect(document.servers.map((server: { url: string }) => server.url)).toEqual(['{apiUrl}', 'http://127.0.0.1:{port}']);
    expect(document.servers[1].variables.port.default).toBe('8787');
  });

  it("gives every authenticated route its 4xx answers in the contract's error shape", () => {
    for (const route of ROUTES.filter((candidate) => !candidate.public)) {
      const responses = document.paths[route.path][route.method.toLowerCase()].responses as Record<string, any>;
      const clientErrors = Object.keys(responses).filter((status) => status.startsWith('4'));
      expect(clientErrors, route.operationId).toEqual(expect.arrayContaining(['401', '429']));
      for (const status of clientErrors) {
        expect(responses[status].content['application/json'].schema, `${route.operationId} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });

  it('describes the three webhook events, signed and carrying the generation record', () => {
    expect(Object.keys(document.webhooks)).toEqual([...CALLBACK_EVENT_TYPES]);
    for (const type of CALLBACK_EVENT_TYPES) {
      const post = document.webhooks[type].post;
      expect(post.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      expect(post.security).toEqual([]);
      const schema = document.components.schemas[post.requestBody.content['application/json'].schema.$ref.split('/').pop()];
      expect(schema.properties.type).toEqual({ const: type });
      expect(schema.properties.data).toEqual({ $ref: '#/components/schemas/Generation' });
      expect(Object.keys(post.responses)).toEqual(['2XX', '4XX', '5XX']);
    }
  });

  it('resolves every $ref it uses', () => {
    const refs = JSON.stringify(document).match(/"\$ref":"#\/components\/schemas\/(\w+)"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const name = /schemas\/(\w+)/.exec(ref)![1]!;
      expect(document.components.schemas[name], name).toBeDefined();
    }
  });
});
