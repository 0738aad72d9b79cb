/**
 * Property: whatever body a client sends to `POST /v2/video/generations`, reelhook never
 * answers 5xx, only a body it accepted (200) ever reaches the provider, and an accepted
 * body's prompt and metadata come back exactly as sent.
 *
 * 2,000 generated bodies (structured near-misses of a valid request; metadata with
 * `constructor` and `__proto__` keys at any depth and nested around DynamoDB's 32 levels;
 * fields nested thousands of levels deep; lone surrogates; bytes that are not UTF-8;
 * arbitrary JSON; text that is not JSON) go over loopback HTTP on keep-alive connections,
 * 50 at a time. Every accepted body starts exactly
 * one generation and so exactly one provider create, so the simulator's create count must
 * end equal to the number of 200 answers: an invalid body that reached the provider would
 * push it past that.
 *
 * The test is bounded by its count, not by the clock: 2,000 bodies took about 25 s on a
 * 2-core machine already loaded (load average 8), and the time limit is over ten times that.
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '#shared/records/idempotency.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { waitFor } from '../support/http.js';

const BATCH_SIZE = 50;
const BATCHES = 40;
const SEED = 20_240_605;
/** Generous on purpose: a loaded machine may be several times slower, and the count, not the clock, bounds the test. */
const TEST_TIMEOUT_MS = 300_000;

let stack: LocalStack;
let dataDir: string;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-fuzz-'));
  // The per-key rate limit would answer most of 2,000 quick requests with 429 before validating them.
  process.env.REELHOOK_RATE_LIMIT_PER_MINUTE = '0';
  // An accepted generation submits at once, then its first Wait (1 s × 1000) outlasts the test: it costs one create and no more.
  stack = await startLocalStack({ dataDir, waitScale: 1000 });
});

afterAll(async () => {
  agent.destroy();
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function post(body: string | Buffer): Promise<{ status: number; text: string }> {
  const url = new URL('/v2/video/generations', stack.url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${stack.apiKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 60_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Any JSON-ish value: mostly the wrong type for whatever field receives it. */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A valid request: the required fields and some optional ones, all with good values. */
const validRequest = fc.record(
  {
    model: fc.constantFrom('kling-video/v1.6/standard/text-to-video', 'kling-video/v1/standard/text-to-video'),
    prompt: fc.string({ minLength: 1, maxLength: 60 }).filter((text) => text.trim() !== ''),
    duration: fc.constantFrom(5, 10, '5', '10'),
    aspect_ratio: fc.constantFrom('16:9', '9:16', '1:1'),
    negative_prompt: fc.string({ maxLength: 30 }),
    cfg_scale: fc.double({ min: 0, max: 1, noNaN: true }),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    timeout_seconds: fc.integer({ min: 30, max: 86_400 }),
  },
  { requiredKeys: ['model', 'prompt'] },
);

const FIELDS = ['model', 'prompt', 'duration', 'aspect_ratio', 'negative_prompt', 'cfg_scale', 'camera_control', 'advanced_camera_control', 'callback_url', 'callback_events', 'metadata', 'timeout_seconds'] as const;

/** Values that are wrong for the field they are put in, in ways a client plausibly gets wrong. */
const badValue = fc.oneof(
  anyValue,
  fc.constantFrom('', '   ', 'x'.repeat(2501), 0, 7, -5, '5s', 5.5, 1.5, -0.1, 29, 86_401, 'kling-video/v9', 'forward_up'),
  fc.constantFrom('not a url', 'ftp://127.0.0.1/x', 'http://', 'javascript:alert(1)', ['generation.completed', 'generation.completed'], { big: 'x'.repeat(5000) }),
);

/** Sets `key` as an own, enumerable property, as JSON.parse does: a plain assignment of `__proto__` would set the prototype. */
function withKey<T extends object>(target: T, key: string, value: unknown): T {
  return Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

/** Half of a surrogate pair on its own; JSON.stringify writes it as a `\ud800`-style escape. */
const loneSurrogate = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83e');

/** Keys the SDK's marshalling once read as type hints, and ordinary ones. */
const trickyKey = fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'name', 'k');

/** Metadata a client may echo: tricky keys at any depth (inside arrays too), and nesting around DynamoDB's 32 levels. */
const metadataShape: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc
    .letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.jsonValue({ maxDepth: 0 }), tie('object'), fc.array(tie('value'), { maxLength: 3 })),
      object: fc
        .array(fc.tuple(trickyKey, tie('value')), { maxLength: 3 })
        .map((entries) => entries.reduce<Record<string, unknown>>((object, [key, value]) => withKey(object, key, value), {})),
    })).object,
  fc.tuple(fc.integer({ min: 28, max: 36 }), fc.boolean()).map(([levels, arrays]) => {
    let value: unknown = 'leaf';
    for (let level = levels; level > 1; level--) value = arrays ? [value] : { k: value };
    return { k: value };
  }),
);

type Mutation = (body: Record<string, unknown>) => void;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...FIELDS).map((field): Mutation => (body) => void delete body[field]),
  fc.tuple(fc.constantFrom(...FIELDS), badValue).map(([field, value]): Mutation => (body) => void (body[field] = value)),
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), anyValue).map(([field, value]): Mutation => (body) => void (body[field] = value)),
  // An own "__proto__" key, as JSON.parse makes from a body that sends one.
  fc.constant<Mutation>((body) => void withKey(body, '__proto__', { polluted: true })),
  metadataShape.map((metadata): Mutation => (body) => void (body.metadata = metadata)),
  fc.tuple(fc.constantFrom('prompt', 'negative_prompt'), fc.string({ maxLength: 10 }), loneSurrogate).map(
    ([field, text, surrogate]): Mutation => (body) => void (body[field] = `${text}${surrogate}`),
  ),
);

/** A valid request with one to three mistakes in it, or now and then none (those are accepted). */
const mistakes = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
  { weight: 24, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
);
const nearMiss = fc.tuple(validRequest, mistakes).map(([request, mutations]) => {
  const body: Record<string, unknown> = { ...request };
  for (const mutate of mutations) mutate(body);
  return JSON.stringify(body);
});
const arbitraryJson = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));
const notJson = fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('', '{', '{"model":', 'null', '[]', '\u0000', '{"a":1}}'));

/** A near miss whose bytes are then broken: a lone continuation byte, a truncated sequence, an overlong form, an encoded surrogate. */
const notUtf8 = fc
  .tuple(nearMiss, fc.constantFrom([0xff], [0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]), fc.nat())
  .map(([text, bytes, at]) => {
    const encoded = Buffer.from(text, 'utf8');
    const cut = at % (encoded.length + 1);
    return Buffer.concat([encoded.subarray(0, cut), Buffer.from(bytes), encoded.subarray(cut)]);
  });

/** A valid request with a field or metadata nested thousands of levels deep, still under the 64 KiB limit. */
const deepJson = fc
  .tuple(fc.integer({ min: 1_000, max: 30_000 }), fc.constantFrom('"x":', '"metadata":{"a":', '"metadata":'), fc.constantFrom('[', '{"k":'))
  .map(([levels, field, open]) => {
    const count = open === '[' ? levels : Math.floor(levels / 5);
    const close = open === '[' ? ']' : '}';
    return `{"model":"kling-video/v1.6/standard/text-to-video","prompt":"x",${field}${open.repeat(count)}1${close.repeat(count)}${field.includes('{') ? '}' : ''}}`;
  });

const body = fc.oneof(
  { weight: 6, arbitrary: nearMiss },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: notUtf8 },
  { weight: 2, arbitrary: arbitraryJson },
  { weight: 2, arbitrary: notJson },
);

describe('POST /v2/video/generations under random bodies', () => {
  it('never answers 5xx to 2,000 random bodies, calls the provider only for accepted ones and echoes them exactly', { timeout: TEST_TIMEOUT_MS }, async () => {
    const createsBefore = stack.simulator!.counters.creates;
    const statuses = new Map<number, number>();
    let accepted = 0;
    let sent = 0;

    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: BATCH_SIZE, maxLength: BATCH_SIZE }), async (bodies) => {
        const answers = await Promise.all(bodies.map((text) => post(text)));
        sent += bodies.length;
        answers.forEach((answer, index) => {
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const sentBody = bodies[index]!;
          if (answer.status >= 500) throw new Error(`answered ${answer.status} to ${JSON.stringify(sentBody.toString())}: ${answer.text}`);
          expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500)).toBe(true);
          const json = JSON.parse(answer.text) as { status?: string; prompt?: string; metadata?: unknown; error?: { name?: string } };
          if (answer.status === 200) {
            accepted += 1;
            expect(json.status).toBe('queued');
            // Only text can be accepted, and what was sent comes back unaltered.
            expect(typeof sentBody).toBe('string');
            const original = JSON.parse(sentBody as string) as { prompt: string; metadata?: unknown };
            expect(json.prompt).toBe(original.prompt);
            expect(canonicalJson(json.metadata)).toBe(canonicalJson(original.metadata ?? {}));
          } else {
            expect(json.error?.name).toEqual(expect.any(String));
          }
        });
      }),
      { numRuns: BATCHES, seed: SEED, endOnFailure: true },
    );

    expect(sent).toBe(BATCHES * BATCH_SIZE);
    // Both kinds must be well represented for the property to mean anything.
    expect(accepted).toBeGreaterThan(0);
    expect(sent - accepted).toBeGreaterThan(sent / 2);
    const createsFor = () => stack.simulator!.counters.creates - createsBefore;
    // Accepted generations submit asynchronously: wait until each has made its one create.
    await waitFor(() => (createsFor() >= accepted ? true : undefined), TEST_TIMEOUT_MS / 4);
    expect(createsFor()).toBe(accepted);
    console.info(`fuzz: ${sent} bodies, ${accepted} accepted; answers by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});
