import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.js';
import { bodyHash, canonicalJson, checkIdempotencyKey } from '#shared/records/idempotency.js';

describe('canonicalJson', () => {
  it('ignores the order of object keys at every level', () => {
    const a = { model: 'm', prompt: 'p', metadata: { b: 1, a: [{ y: 2, x: 1 }] } };
    const b = { metadata: { a: [{ x: 1, y: 2 }], b: 1 }, prompt: 'p', model: 'm' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(bodyHash(a)).toBe(bodyHash(b));
  });

  it('keeps the order of array items and the type of values', () => {
    expect(bodyHash({ events: ['a', 'b'] })).not.toBe(bodyHash({ events: ['b', 'a'] }));
    expect(bodyHash({ duration: '5' })).not.toBe(bodyHash({ duration: 5 }));
  });

  it('is the same for any reordering of a parsed JSON body', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (body) => {
        const reversed = Object.fromEntries(Object.entries(body).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(body));
        expect(JSON.parse(canonicalJson(body))).toEqual(JSON.parse(JSON.stringify(body)));
      }),
    );
  });
});

describe('checkIdempotencyKey', () => {
  it('accepts keys of 1 to 255 characters', () => {
    expect(() => checkIdempotencyKey('k')).not.toThrow();
    expect(() => checkIdempotencyKey('k'.repeat(255))).not.toThrow();
  });

  it('rejects an empty key or one over 255 characters, naming the header', () => {
    for (const key of ['', 'k'.repeat(256)]) {
      let thrown: unknown;
      try {
        checkIdempotencyKey(key);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).issues[0]?.field).toBe('Idempotency-Key');
    }
  });
});
