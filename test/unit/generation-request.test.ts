import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FieldIssue, ValidationError } from '#shared/errors.js';
import { generationRequestJsonSchema, parseGenerationRequest } from '#shared/generations/request.js';

const V1 = 'kling-video/v1/standard/text-to-video';
const V16 = 'kling-video/v1.6/standard/text-to-video';

/** The issues parseGenerationRequest reports for a body it must reject. */
function issuesOf(body: unknown): FieldIssue[] {
  try {
    parseGenerationRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('the body was accepted');
}

function messageFor(body: unknown, field: string): string | undefined {
  return issuesOf(body).find((issue) => issue.field === field)?.message;
}

describe('parseGenerationRequest', () => {
  it('applies every default to a minimal v1.6 body', () => {
    expect(parseGenerationRequest({ model: V16, prompt: 'A raccoon in a forest' })).toEqual({
      model: V16,
      prompt: 'A raccoon in a forest',
      params: { duration: 5, aspect_ratio: '16:9' },
      callback_url: null,
      callback_events: ['generation.completed', 'generation.failed'],
      metadata: {},
      timeout_seconds: 3600,
    });
  });

  it('accepts the seed example body with its string duration and outputs an integer', () => {
    const request = parseGenerationRequest({
      model: V16,
      prompt: 'A cheerful white raccoon running through a sequoia forest',
      aspect_ratio: '16:9',
      duration: '5',
    });
    expect(request.params).toEqual({ duration: 5, aspect_ratio: '16:9' });
  });

  it('accepts a full v1 body with camera fields and every extension', () => {
    const request = parseGenerationRequest({
      model: V1,
      prompt: 'A drone shot over a glacier',
      duration: '10',
      aspect_ratio: '9:16',
      negative_prompt: 'people',
      cfg_scale: 0.7,
      camera_control: 'forward_up',
      advanced_camera_control: { movement_type: 'pan', movement_value: 3 },
      callback_url: 'https://hooks.example.com/reelhook?tenant=7',
      callback_events: ['generation.started', 'generation.failed'],
      metadata: { order: 42, tags: ['a'] },
      timeout_seconds: 600,
    });
    expect(request).toEqual({
      model: V1,
      prompt: 'A drone shot over a glacier',
      params: {
        duration: 10,
        aspect_ratio: '9:16',
        negative_prompt: 'people',
        cfg_scale: 0.7,
        camera_control: 'forward_up',
        advanced_camera_control: { movement_type: 'pan', movement_value: 3 },
      },
      callback_url: 'https://hooks.example.com/reelhook?tenant=7',
      callback_events: ['generation.started', 'generation.failed'],
      metadata: { order: 42, tags: ['a'] },
      timeout_seconds: 600,
    });
  });

  it.each([null, [], 'text', 42, true])('rejects the non-object body %j', (body) => {
    expect(issuesOf(body)).toEqual([{ field: 'body', message: 'must be a JSON object' }]);
  });

  it('requires the model and lists the valid ones', () => {
    expect(messageFor({ prompt: 'x' }, 'model')).toBe(`is required (one of ${V1}, ${V16})`);
  });

  it.each(['kling-video/v2/master/text-to-video', 7])(
    'rejects the unknown model %j and lists the valid ones',
    (model) => {
      expect(messageFor({ model, prompt: 'x' }, 'model')).toBe(`must be one of ${V1}, ${V16}`);
    },
  );

  it('reports the model first and still reports the other extension fields', () => {
    expect(issuesOf({ model: 'nope', prompt: ' ', timeout_seconds: 5 })).toEqual([
      { field: 'model', message: `must be one of ${V1}, ${V16}` },
      { field: 'prompt', message: 'must not be empty' },
      { field: 'timeout_seconds', message: 'must be an integer from 30 to 86400' },
    ]);
  });

  it('keeps the prompt exactly as sent, surrounding whitespace included', () => {
    expect(parseGenerationRequest({ model: V16, prompt: '  a cat \n' }).prompt).toBe('  a cat \n');
  });

  it.each([
    [{}, 'is required'],
    [{ prompt: 3 }, 'must be a string'],
    [{ prompt: '' }, 'must not be empty'],
    [{ prompt: ' \t\n ' }, 'must not be empty'],
    [{ prompt: 'x'.repeat(2501) }, 'must be at most 2500 characters'],
  ])('rejects the prompt of %j', (fields, message) => {
    expect(messageFor({ model: V16, ...fields }, 'prompt')).toBe(message);
  });

  it('counts the 2500 characters on the prompt as sent, whitespace included', () => {
    const padded = ` ${'x'.repeat(2498)} `;
    expect(parseGenerationRequest({ model: V16, prompt: padded }).prompt).toBe(padded);
    expect(messageFor({ model: V16, prompt: ` ${'x'.repeat(2499)} ` }, 'prompt')).toBe('must be at most 2500 characters');
  });

  it('reports an empty or blank prompt once', () => {
    for (const prompt of ['', '   ']) {
      expect(issuesOf({ model: V16, prompt })).toEqual([{ field: 'prompt', message: 'must not be empty' }]);
    }
  });

  it.each([7, '7', '5s'])('rejects duration %j with a human message', (duration) => {
    expect(messageFor({ model: V1, prompt: 'x', duration }, 'duration')).toBe('must be 5 or 10');
  });

  it.each([
    ['camera_control', 'down_back'],
    ['advanced_camera_control', { movement_type: 'zoom', movement_value: 1 }],
  ])('rejects %s on v1.6, naming the field', (field, value) => {
    expect(issuesOf({ model: V16, prompt: 'x', [field]: value })).toEqual([
      { field, message: `not supported by model ${V16}` },
    ]);
  });

  it('rejects an unknown field, naming it', () => {
    expect(issuesOf({ model: V1, prompt: 'x', seed: 3 })).toEqual([
      { field: 'seed', message: `not supported by model ${V1}` },
    ]);
  });

  it('reports advanced_camera_control problems with their nested paths', () => {
    expect(issuesOf({ model: V1, prompt: 'x', advanced_camera_control: { movement_value: 11, speed: 1 } })).toEqual([
      { field: 'advanced_camera_control.movement_type', message: 'is required' },
      { field: 'advanced_camera_control.movement_value', message: 'must be an integer from -10 to 10' },
      { field: 'advanced_camera_control.speed', message: 'is not a supported field' },
    ]);
  });

  it.each([
    [{ aspect_ratio: '4:3' }, 'aspect_ratio', 'must be one of 16:9, 9:16, 1:1'],
    [{ cfg_scale: 2 }, 'cfg_scale', 'must be a number between 0 and 1'],
    [{ negative_prompt: 'x'.repeat(2501) }, 'negative_prompt', 'must be at most 2500 characters'],
    [
      { camera_control: 'spin' },
      'camera_control',
      'must be one of down_back, forward_up, right_turn_forward, left_turn_forward',
    ],
  ])('rejects the provider fields %j', (fields, field, message) => {
    expect(messageFor({ model: V1, prompt: 'x', ...fields }, field)).toBe(message);
  });

  it('reports every offending field at once', () => {
    const fields = issuesOf({
      model: V16,
      prompt: '',
      duration: 3,
      camera_control: 'down_back',
      callback_url: 'ftp://x',
      timeout_seconds: 10,
    }).map((issue) => issue.field);
    expect(fields.sort()).toEqual(['callback_url', 'camera_control', 'duration', 'prompt', 'timeout_seconds']);
  });

  it.each(['http://127.0.0.1:9000/hook', 'https://hooks.example.com/a/b?c=d', 'HTTPS://EXAMPLE.COM'])(
    'accepts the callback URL %s',
    (callback_url) => {
      expect(parseGenerationRequest({ model: V16, prompt: 'x', callback_url }).callback_url).toBe(callback_url);
    },
  );

  it('accepts a null callback URL as none', () => {
    expect(parseGenerationRequest({ model: V16, prompt: 'x', callback_url: null }).callback_url).toBeNull();
  });

  it.each([
    ['/relative/path', 'must be an absolute http or https URL'],
    ['example.com/hook', 'must be an absolute http or https URL'],
    ['ftp://example.com/hook', 'must be an absolute http or https URL'],
    ['javascript:alert(1)', 'must be an absolute http or https URL'],
    ['https://user:secret@example.com/hook', 'must not contain credentials (user:password@)'],
    ['https://user@example.com/hook', 'must not contain credentials (user:password@)'],
    [`https://example.com/${'a'.repeat(2030)}`, 'must be at most 2048 characters'],
    [42, 'must be an absolute http or https URL'],
  ])('rejects the callback URL %j', (callback_url, message) => {
    expect(messageFor({ model: V16, prompt: 'x', callback_url }, 'callback_url')).toBe(message);
  });

  it('accepts an empty callback_events: no event is delivered', () => {
    const request = parseGenerationRequest({ model: V16, prompt: 'x', callback_url: 'https://example.com/hooks', callback_events: [] });
    expect(request.callback_events).toEqual([]);
  });

  it('accepts a callback URL of exactly 2048 characters', () => {
    const prefix = 'https://example.com/';
    const callback_url = prefix + 'a'.repeat(2048 - prefix.length);
    expect(parseGenerationRequest({ model: V16, prompt: 'x', callback_url }).callback_url).toBe(callback_url);
  });

  it.each([
    [['generation.completed', 'generation.completed'], 'callback_events', 'must not list an event twice'],
    [
      ['generation.done'],
      'callback_events.0',
      'must be one of generation.started, generation.completed, generation.failed',
    ],
    [
      'generation.completed',
      'callback_events',
      'must be an array of generation.started, generation.completed, generation.failed',
    ],
  ])('rejects callback_events %j', (callback_events, field, message) => {
    expect(messageFor({ model: V16, prompt: 'x', callback_events }, field)).toBe(message);
  });

  it('accepts metadata of exactly 4096 bytes of UTF-8 JSON', () => {
    // {"k":"…"} is 8 bytes around the value; é is 2 bytes in UTF-8.
    const metadata = { k: 'é'.repeat(2044) };
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(4096);
    expect(parseGenerationRequest({ model: V16, prompt: 'x', metadata }).metadata).toEqual(metadata);
  });

  it('rejects metadata one byte over 4096, counting UTF-8 bytes rather than characters', () => {
    const metadata = { k: `${'é'.repeat(2044)}x` };
    expect(messageFor({ model: V16, prompt: 'x', metadata }, 'metadata')).toBe(
      'must be at most 4096 bytes as JSON (is 4097)',
    );
  });

  it.each([[[1, 2]], ['text'], [null], [3]])('rejects metadata %j that is not an object', (metadata) => {
    expect(messageFor({ model: V16, prompt: 'x', metadata }, 'metadata')).toBe('must be a JSON object');
  });

  it('rejects a top-level __proto__ key as an unknown field', () => {
    const body = JSON.parse(`{"model":"${V16}","prompt":"x","__proto__":{"duration":10}}`) as unknown;
    expect(issuesOf(body)).toEqual([{ field: '__proto__', message: `not supported by model ${V16}` }]);
  });

  it.each([29, 86_401, 60.5, '600'])('rejects timeout_seconds %j', (timeout_seconds) => {
    expect(messageFor({ model: V16, prompt: 'x', timeout_seconds }, 'timeout_seconds')).toBe(
      'must be an integer from 30 to 86400',
    );
  });

  it.each([30, 86_400])('accepts timeout_seconds %d', (timeout_seconds) => {
    expect(parseGenerationRequest({ model: V16, prompt: 'x', timeout_seconds }).timeout_seconds).toBe(timeout_seconds);
  });

  it('summarises the first issue in the error message', () => {
    expect(() => parseGenerationRequest({ model: V16, prompt: 'x', duration: 3 })).toThrow('duration: must be 5 or 10');
  });

  it('throws nothing but ValidationError for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        try {
          parseGenerationRequest(body);
        } catch (error) {
          return error instanceof ValidationError && error.issues.length > 0;
        }
        return true;
      }),
    );
  });

  it('throws nothing but ValidationError for near-valid bodies with arbitrary fields', () => {
    const body = fc.record({
      model: fc.constantFrom(V1, V16, 'unknown'),
      prompt: fc.oneof(fc.string(), fc.jsonValue()),
      extra: fc.dictionary(
        fc.constantFrom(
          'duration',
          'aspect_ratio',
          'cfg_scale',
          'camera_control',
          'advanced_camera_control',
          'callback_url',
          'callback_events',
          'metadata',
          'timeout_seconds',
          '__proto__',
          'other',
        ),
        fc.jsonValue(),
      ),
    });
    fc.assert(
      fc.property(body, ({ model, prompt, extra }) => {
        try {
          parseGenerationRequest({ ...extra, model, prompt });
        } catch (error) {
          return error instanceof ValidationError && error.issues.length > 0;
        }
        return true;
      }),
    );
  });
});

/** `depth` objects and arrays nested in turn, metadata itself the outermost, a string innermost. */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 'leaf';
  for (let level = depth; level > 1; level--) value = level % 2 === 0 ? [value] : { k: value };
  return { k: value };
}

describe('metadata as DynamoDB stores it', () => {
  const bodyWith = (json: string): unknown => JSON.parse(`{"model":"${V16}","prompt":"x","metadata":${json}}`);

  it('keeps constructor keys at any depth, inside arrays too, as plain data', () => {
    const metadata = parseGenerationRequest(bodyWith('{"constructor":{"name":"String"},"list":[{"constructor":"Set"}]}')).metadata;
    expect(JSON.stringify(metadata)).toBe('{"constructor":{"name":"String"},"list":[{"constructor":"Set"}]}');
  });

  it('refuses a __proto__ key at any depth, naming the object that holds it', () => {
    expect(issuesOf(bodyWith('{"__proto__":{"a":1}}'))).toEqual([{ field: 'metadata', message: 'must not use "__proto__" as a key' }]);
    expect(issuesOf(bodyWith('{"a":{"list":[1,{"__proto__":"x"}]}}'))).toEqual([
      { field: 'metadata.a.list[1]', message: 'must not use "__proto__" as a key' },
    ]);
  });

  it('accepts 31 levels of objects and arrays (metadata is level 1) and refuses 32, naming the field', () => {
    expect(parseGenerationRequest({ model: V16, prompt: 'x', metadata: nested(31) }).metadata).toEqual(nested(31));
    const [issue, ...rest] = issuesOf({ model: V16, prompt: 'x', metadata: nested(32) });
    expect(rest).toEqual([]);
    expect(issue!.field).toMatch(/^metadata\.k\[0\]/);
    expect(issue!.message).toMatch(/deeper than DynamoDB's 32 levels/);
    expect(issuesOf({ model: V16, prompt: 'x', metadata: { deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) } })[0]).toMatchObject({
      field: `metadata.deep${'[0]'.repeat(30)}`,
    });
  });

  it('refuses numbers and keys DynamoDB cannot store, naming each field', () => {
    expect(issuesOf({ model: V16, prompt: 'x', cfg_scale: 5e-324, metadata: { big: 2 ** 60, nested: { list: [1, -1e-200] }, ok: 0.5, '': 'empty key' } })).toEqual([
      { field: 'metadata.big', message: expect.stringContaining('1e-130') },
      { field: 'metadata.nested.list[1]', message: expect.any(String) },
      { field: 'metadata', message: 'must not use an empty string as a key' },
      { field: 'cfg_scale', message: expect.stringContaining('1e-130') },
    ]);
  });
});

describe('text that is not well-formed Unicode', () => {
  const message = 'must be valid Unicode text (it holds a lone surrogate)';

  it.each(['\\ud800', 'a\\udc00b', 'pair \\ud83d\\ude00 then \\ud83d'])('refuses the prompt %s (JSON escapes) instead of storing it altered', (escaped) => {
    const body = JSON.parse(`{"model":"${V16}","prompt":"${escaped}"}`) as unknown;
    expect(issuesOf(body)).toEqual([{ field: 'prompt', message }]);
  });

  it('names every string field and key that holds one', () => {
    const body = JSON.parse(`{"model":"${V16}","prompt":"ok","negative_prompt":"\\udfff","metadata":{"a":["x","\\ud800"],"\\ud801":1}}`) as unknown;
    expect(issuesOf(body)).toEqual([
      { field: 'negative_prompt', message },
      { field: 'metadata', message: 'must not use a key that is not valid Unicode text (it holds a lone surrogate)' },
      { field: 'metadata.a[1]', message },
    ]);
  });

  it('walks a body nested tens of thousands of levels deep without overflowing the stack', () => {
    const deep = (levels: number) => JSON.parse(`${'['.repeat(levels)}"\\ud800"${']'.repeat(levels)}`) as unknown;
    expect(issuesOf({ model: V16, prompt: 'x', extra: deep(30_000) })).toEqual([{ field: 'extra', message: `not supported by model ${V16}` }, { field: `extra${'[0]'.repeat(30_000)}`, message }]);
    expect(issuesOf({ model: V16, prompt: 'x', metadata: { a: deep(30_000) } })[0]).toEqual({ field: 'metadata', message: 'must be at most 4096 bytes as JSON, nested at most 31 levels' });
  });

  it('keeps a prompt with surrogate pairs (emoji) exactly as sent', () => {
    expect(parseGenerationRequest({ model: V16, prompt: 'A fox \u{1F98A} in snow' }).prompt).toBe('A fox \u{1F98A} in snow');
  });
});

describe('generationRequestJsonSchema', () => {
  it('has one oneOf branch per model, each closed to unknown fields', () => {
    const schema = generationRequestJsonSchema() as { oneOf: Array<Record<string, unknown>> };
    expect(schema.oneOf.map((branch) => (branch.properties as { model: { const: string } }).model.const)).toEqual([
      V1,
      V16,
    ]);
    for (const branch of schema.oneOf) {
      expect(branch.additionalProperties).toBe(false);
      expect(branch.required).toEqual(['model', 'prompt']);
    }
  });

  it('describes the camera fields only on v1 and shows the defaults', () => {
    const [v1, v16] = (
      generationRequestJsonSchema() as { oneOf: Array<{ properties: Record<string, Record<string, unknown>> }> }
    ).oneOf;
    expect(Object.keys(v1?.properties ?? {})).toContain('advanced_camera_control');
    expect(Object.keys(v16?.properties ?? {})).not.toContain('camera_control');
    expect(v16?.properties.duration).toMatchObject({ enum: [5, 10, '5', '10'], default: 5 });
    expect(v16?.properties.timeout_seconds).toMatchObject({
      type: 'integer',
      minimum: 30,
      maximum: 86_400,
      default: 3600,
    });
    expect(v16?.properties.metadata).toMatchObject({ type: 'object' });
  });
});
