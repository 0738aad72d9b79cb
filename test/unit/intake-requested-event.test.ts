/**
 * What the intake reads from a `Video Generation Requested` event: only the documented
 * source is trusted, whatever the detail claims.
 */
import { describe, expect, it } from 'vitest';
import { readGenerationRequest } from '../../functions/intake/requested-event.js';
import { EVENT_SOURCE } from '#shared/events/bus.js';

const detail = { api_key_id: 'key_abc', model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A fox' };

describe('readGenerationRequest', () => {
  it('splits a request from the documented source into the tenant, the idempotency key and the body', () => {
    expect(readGenerationRequest({ id: 'ev-1', source: EVENT_SOURCE, detail: { ...detail, idempotency_key: 'batch-7' } })).toEqual({
      apiKeyId: 'key_abc',
      idempotencyKey: 'batch-7',
      body: { model: detail.model, prompt: 'A fox' },
    });
    expect(readGenerationRequest({ id: 'ev-1', source: EVENT_SOURCE, detail }).idempotencyKey).toBe('eventbridge:ev-1');
  });

  it.each(['my.pipeline', 'reelhook.client', 'Reelhook', ''])('refuses source %j as Unauthorized, naming the accepted one', (source) => {
    expect(() => readGenerationRequest({ id: 'ev-1', source, detail })).toThrow(
      expect.objectContaining({ name: 'Unauthorized', message: expect.stringContaining(`only source "${EVENT_SOURCE}"`) }),
    );
  });

  it('names the field of a detail it cannot use', () => {
    expect(() => readGenerationRequest({ id: 'ev-1', source: EVENT_SOURCE, detail: { prompt: 'x' } })).toThrow(/api_key_id/);
    expect(() => readGenerationRequest({ id: 'ev-1', source: EVENT_SOURCE, detail: { ...detail, idempotency_key: 7 } })).toThrow(
      /idempotency_key/,
    );
    expect(() => readGenerationRequest({ id: 'ev-1', source: EVENT_SOURCE, detail: [] })).toThrow(/detail/);
  });
});
