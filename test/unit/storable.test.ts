import { describe, expect, it } from 'vitest';
import { parseGenerationRequest } from '#shared/generations/request.js';
import { newGenerationItem } from '#shared/records/record.js';
import { itemSizeBytes, MAX_ITEM_BYTES, storedSizeBytes } from '#shared/records/storable.js';

describe('the size DynamoDB counts', () => {
  it('follows the developer guide: names, UTF-8 strings, numbers by digit pairs, one byte per element', () => {
    // 2 + 3, 1 + (3 + 1), 4 + 1, 1 + (3 + 1 + 2): 22 bytes.
    expect(itemSizeBytes({ id: 'abc', n: 12345, flag: true, l: ['xy'] })).toBe(22);
    expect(storedSizeBytes({ é: 'é' })).toBe(3 + 1 + 2 + 2);
  });

  it('leaves the largest record a request can make far inside the 400 KB item limit', () => {
    // Every text at its limit in four-byte characters, metadata at its 4096 bytes as JSON.
    const wide = '\u{1F98A}';
    const request = parseGenerationRequest({
      model: 'kling-video/v1/standard/text-to-video',
      prompt: wide.repeat(1250),
      negative_prompt: wide.repeat(1250),
      callback_url: `https://example.com/${'p'.repeat(2020)}`,
      metadata: { m: 'x'.repeat(4088) },
      advanced_camera_control: { movement_type: 'zoom', movement_value: -10 },
    }, 'public');
    const item = newGenerationItem({ id: `gen_${'0'.repeat(26)}`, owner: `key_${'0'.repeat(26)}`, request, now: new Date(), expiresAt: 2_000_000_000 });
    expect(itemSizeBytes(item)).toBeLessThan(MAX_ITEM_BYTES / 10);
  });
});
