/**
 * Parses and validates the body of `POST /v2/video/generations` (docs/api.md):
 * the AI/ML API fields of the chosen model plus reelhook's own extensions.
 */
// zod/mini as a namespace import keeps the Lambda bundles small (see #shared/provider/models.js).
import * as z from 'zod/mini';
import { type FieldIssue, ValidationError } from '#shared/errors.js';
import { callbackPolicyFromEnv, callbackUrlProblem, type CallbackPolicy } from '#shared/webhooks/callback-policy.js';
import { MODELS, type VideoModel } from '#shared/provider/models.js';
import { MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from '#shared/facts.js';
import { MAX_NESTING_LEVELS, unstorableValues } from '#shared/records/storable.js';

export const CALLBACK_EVENT_TYPES = ['generation.started', 'generation.completed', 'generation.failed'] as const;
export type CallbackEventType = (typeof CALLBACK_EVENT_TYPES)[number];

export interface GenerationRequest {
  model: string;
  prompt: string;
  params: Record<string, unknown>;
  callback_url: string | null;
  callback_events: CallbackEventType[];
  metadata: Record<string, unknown>;
  timeout_seconds: number;
}

const MAX_PROMPT_CHARS = 2500;
const MAX_CALLBACK_URL_CHARS = 2048;
const MAX_METADATA_BYTES = 4096;
const DEFAULT_CALLBACK_EVENTS: readonly CallbackEventType[] = ['generation.completed', 'generation.failed'];
const TIMEOUT_RANGE = `an integer from ${MIN_TIMEOUT_SECONDS} to ${MAX_TIMEOUT_SECONDS}`;

/** Says "is required" for a missing value and "must be <expected>" for anything else. */
function expecting(expected: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}`);
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const prompt = z
  .string({ error: expecting('a string') })
  // Kept exactly as sent (record and provider); only blank-ness looks past the whitespace.
  .check(
    z.minLength(1, { error: 'must not be empty' }),
    z.refine((value) => value === '' || value.trim() !== '', { error: 'must not be empty' }),
    z.maxLength(MAX_PROMPT_CHARS, { error: `must be at most ${MAX_PROMPT_CHARS} characters` }),
    z.meta({ description: 'The text description of the scene, subject, or action to generate in the video.' }),
  );

/** The submission-time half of the SSRF guard: the URL alone, no DNS (delivery checks the addresses). */
function callbackUrlFor(policy: CallbackPolicy) {
  const url = z
    .string({ error: expecting(policy === 'public' ? 'an absolute https URL' : 'an absolute http or https URL') })
    .check(
      z.maxLength(MAX_CALLBACK_URL_CHARS, { error: `must be at most ${MAX_CALLBACK_URL_CHARS} characters` }),
      z.superRefine((value, ctx) => {
        const problem = callbackUrlProblem(value, policy);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    );
  return z._default(z.nullable(url), null).check(z.meta({ description: 'Where the signed webhook is sent.' }));
}

const callbackEventList = z
  .array(z.enum(CALLBACK_EVENT_TYPES, { error: `must be one of ${CALLBACK_EVENT_TYPES.join(', ')}` }), {
    error: expecting(`an array of ${CALLBACK_EVENT_TYPES.join(', ')}`),
  })
  // [] is a valid subset: no webhook at all for this generation (its callback stays `none`).
  .check(z.refine((events) => new Set(events).size === events.length, { error: 'must not list an event twice' }));
const callbackEvents = z
  ._default(callbackEventList, () => [...DEFAULT_CALLBACK_EVENTS])
  .check(z.meta({ description: 'The events delivered to callback_url; an empty list delivers none.' }));

/** A custom check rather than z.record: z.record rebuilds the object and would drop a `__proto__` key. */
const metadataObject = z.custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' }).check(
  z.superRefine((value, ctx) => {
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    } catch {
      // Parsed JSON always serializes, unless it nests deeper than the stack allows.
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON, nested at most ${MAX_NESTING_LEVELS - 1} levels` });
      return;
    }
    if (bytes > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON (is ${bytes})` });
    }
  }),
);
const metadata = z._default(metadataObject, () => ({})).check(
  z.meta({
    type: 'object',
    description: `Echoed exactly in the record, webhooks and events; at most ${MAX_METADATA_BYTES} bytes as JSON, nested at most ${MAX_NESTING_LEVELS - 1} levels (metadata is level 1), no "__proto__" key.`,
  }),
);

const timeoutSecondsInRange = z
  .int({ error: expecting(TIMEOUT_RANGE) })
  .check(
    z.minimum(MIN_TIMEOUT_SECONDS, { error: `must be ${TIMEOUT_RANGE}` }),
    z.maximum(MAX_TIMEOUT_SECONDS, { error: `must be ${TIMEOUT_RANGE}` }),
  );
const timeoutSeconds = z
  ._default(timeoutSecondsInRange, 3600)
  .check(z.meta({ description: 'Give up (error TimedOut) this many seconds after acceptance.' }));

/** reelhook's extensions to the AI/ML API body (callback_url as the public policy has it, for the schema). */
const EXTENSION_FIELDS = {
  callback_url: callbackUrlFor('public'),
  callback_events: callbackEvents,
  metadata,
  timeout_seconds: timeoutSeconds,
};
/** Every field of the body that is not a provider parameter of the model (model itself is checked first). */
const REELHOOK_FIELDS = { prompt, ...EXTENSION_FIELDS };
const reelhookFieldsByPolicy = {
  local: z.object({ ...REELHOOK_FIELDS, callback_url: callbackUrlFor('local') }),
  public: z.object(REELHOOK_FIELDS),
} satisfies Record<CallbackPolicy, z.ZodMiniObject>;

function modelIssue(model: unknown): FieldIssue {
  const valid = `one of ${[...MODELS.keys()].join(', ')}`;
  return { field: 'model', message: model === undefined ? `is required (${valid})` : `must be ${valid}` };
}

function fieldIssues(error: z.core.$ZodError, model: VideoModel | null): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const message = path.length === 0 && model ? `not supported by model ${model.id}` : 'is not a supported field';
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message }));
    }
    return [{ field: path.length === 0 ? 'body' : path.join('.'), message: issue.message }];
  });
}

/** A UTF-16 code unit that is half of a surrogate pair, standing alone. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Every string and key of the body that is not well-formed Unicode: JSON's `\ud800`
 * escapes can make one. It has no UTF-8 form, so neither DynamoDB nor the provider could
 * receive it as sent, and the prompt is kept exactly as sent or refused. Walked with a list
 * rather than recursion: a 64 KiB body can nest arrays tens of thousands deep.
 */
function malformedText(body: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const pending: Array<[unknown, string]> = [[body, '']];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) issues.push({ field: path, message: 'must be valid Unicode text (it holds a lone surrogate)' });
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) pending.push([value[index], `${path}[${index}]`]);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      if (entries.some(([key]) => LONE_SURROGATE.test(key))) {
        issues.push({ field: path || 'body', message: 'must not use a key that is not valid Unicode text (it holds a lone surrogate)' });
      }
      for (const [key, inner] of entries.reverse()) {
        if (!LONE_SURROGATE.test(key)) pending.push([inner, path === '' ? key : `${path}.${key}`]);
      }
    }
  }
  return issues;
}

/**
 * Throws ValidationError whose issues name every offending field (dot paths, e.g.
 * `advanced_camera_control.movement_value`). `callbackPolicy` decides which callback
 * URLs are acceptable (REELHOOK_CALLBACK_POLICY by default).
 */
export function parseGenerationRequest(body: unknown, callbackPolicy: CallbackPolicy = callbackPolicyFromEnv()): GenerationRequest {
  if (!isJsonObject(body)) {
    throw new ValidationError([{ field: 'body', message: 'must be a JSON object' }]);
  }
  const model = typeof body.model === 'string' ? (MODELS.get(body.model) ?? null) : null;

  const reelhookPart: Record<string, unknown> = {};
  const providerPart: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'model') continue;
    if (Object.hasOwn(REELHOOK_FIELDS, key)) reelhookPart[key] = value;
    // defineProperty keeps a `__proto__` key an own field, so the strict schema reports it instead of it vanishing.
    else Object.defineProperty(providerPart, key, { value, enumerable: true, writable: true, configurable: true });
  }

  const reelhook = reelhookFieldsByPolicy[callbackPolicy].safeParse(reelhookPart);
  // Without a known model there is no schema for the provider fields; still report the rest.
  const params = model ? model.params.safeParse(providerPart) : null;

  const issues: FieldIssue[] = [
    ...(model ? [] : [modelIssue(body.model)]),
    ...(reelhook.success ? [] : fieldIssues(reelhook.error, model)),
    ...(params && !params.success ? fieldIssues(params.error, model) : []),
    ...malformedText(body),
    // Checked here, before an Idempotency-Key is claimed, so a corrected retry under the same key is not a conflict.
    ...(reelhook.success ? unstorableValues(reelhook.data.metadata, 'metadata') : []),
    ...(params?.success ? unstorableValues(params.data, '') : []),
  ];
  if (!model || !reelhook.success || !params?.success || issues.length > 0) {
    throw new ValidationError(issues);
  }
  return {
    model: model.id,
    prompt: reelhook.data.prompt,
    params: params.data,
    callback_url: reelhook.data.callback_url,
    callback_events: reelhook.data.callback_events,
    metadata: reelhook.data.metadata,
    timeout_seconds: reelhook.data.timeout_seconds,
  };
}

/** JSON Schema (zod 4's z.toJSONSchema) of the request body, one `oneOf` branch per model — for the OpenAPI document later. */
export function generationRequestJsonSchema(): Record<string, unknown> {
  const branches = [...MODELS.values()].map((model) => {
    const body = z.strictObject({
      model: z.literal(model.id),
      prompt,
      ...model.params.shape,
      ...EXTENSION_FIELDS,
    });
    // metadata is a custom check, described by its .meta(); everything else is representable.
    const { $schema: _dialect, ...branch } = z.toJSONSchema(body, {
      io: 'input',
      unrepresentable: 'any',
      // zod leaves out the default of a field that transforms its input (duration); callers still want to see it.
      override: ({ zodSchema, jsonSchema }) => {
        if (zodSchema instanceof z.ZodMiniDefault) jsonSchema.default ??= zodSchema.def.defaultValue;
      },
    });
    return { title: model.id, ...branch };
  });
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', oneOf: branches };
}
