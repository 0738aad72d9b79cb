/**
 * The published client's types are written out (its .d.ts must not need the server's modules);
 * these checks make them fail to compile, or fail here, as soon as they drift from the schemas
 * the API answers and validates with.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import type { ApiErrorName as ServerApiErrorName, GenerationErrorName as ServerGenerationErrorName } from '#shared/errors.js';
import { CALLBACK_EVENT_TYPES, generationRequestJsonSchema } from '#shared/generations/request.js';
import { MODELS } from '#shared/provider/models.js';
import type {
  ApiErrorName,
  CreateGenerationBody,
  ErrorBody,
  Generation,
  GenerationErrorName,
  GenerationHistory,
  GenerationPage,
  ModelId,
  WebhookEventType,
} from '../../client/index.js';
import type { errorBodySchema, generationHistorySchema, generationPageSchema, generationRecordSchema } from '../../functions/api/schemas.js';

/** Every field of the request body, once: `satisfies` fails to compile when one is missing or extra. */
const BODY_FIELDS = {
  model: true,
  prompt: true,
  duration: true,
  aspect_ratio: true,
  negative_prompt: true,
  cfg_scale: true,
  camera_control: true,
  advanced_camera_control: true,
  callback_url: true,
  callback_events: true,
  metadata: true,
  timeout_seconds: true,
} satisfies Record<keyof CreateGenerationBody, true>;

describe("the client's types", () => {
  it('are the types of the schemas the API answers with', () => {
    expectTypeOf<Generation>().toEqualTypeOf<z.output<typeof generationRecordSchema>>();
    expectTypeOf<GenerationPage>().toEqualTypeOf<z.output<typeof generationPageSchema>>();
    expectTypeOf<GenerationHistory>().toEqualTypeOf<z.output<typeof generationHistorySchema>>();
    expectTypeOf<ErrorBody['error']['name']>().toEqualTypeOf<z.output<typeof errorBodySchema>['error']['name']>();
    expectTypeOf<ApiErrorName>().toEqualTypeOf<ServerApiErrorName>();
    expectTypeOf<GenerationErrorName>().toEqualTypeOf<ServerGenerationErrorName>();
    expectTypeOf<WebhookEventType>().toEqualTypeOf<(typeof CALLBACK_EVENT_TYPES)[number]>();
  });

  it("name the request body's fields and the models the API validates with", () => {
    const branches = generationRequestJsonSchema().oneOf as Array<{ properties: Record<string, unknown> }>;
    const fields = new Set(branches.flatMap((branch) => Object.keys(branch.properties)));
    expect([...fields].sort()).toEqual(Object.keys(BODY_FIELDS).sort());
    const models: Record<ModelId, true> = { 'kling-video/v1/standard/text-to-video': true, 'kling-video/v1.6/standard/text-to-video': true };
    expect([...MODELS.keys()].sort()).toEqual(Object.keys(models).sort());
  });
});
