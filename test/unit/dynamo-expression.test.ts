import { describe, expect, it } from 'vitest';
import { setExpression } from '#shared/records/dynamo.js';
import { newId, webhookIdFor } from '#shared/records/ids.js';

describe('setExpression', () => {
  it('aliases every path segment and keeps extra values', () => {
    const parts = setExpression({ status: 'completed', 'timeline.copied': 'now' }, { ':from0': 'generating' });
    expect(parts.UpdateExpression).toBe('SET #n0 = :v0, #n1.#n2 = :v1');
    expect(parts.ExpressionAttributeNames).toEqual({ '#n0': 'status', '#n1': 'timeline', '#n2': 'copied' });
    expect(parts.ExpressionAttributeValues).toEqual({ ':v0': 'completed', ':v1': 'now', ':from0': 'generating' });
  });
});

describe('ids', () => {
  it('sort by creation time', () => {
    expect(newId('gen', 1_000) < newId('gen', 2_000)).toBe(true);
    expect(newId('gen')).toMatch(/^gen_[0-9a-z]{26}$/);
  });

  it('derive one webhook-id per generation and event', () => {
    expect(webhookIdFor('gen_abc', 'generation.completed')).toBe('msg_abc_completed');
    expect(webhookIdFor('gen_abc', 'generation.failed')).not.toBe(webhookIdFor('gen_abc', 'generation.completed'));
  });
});
