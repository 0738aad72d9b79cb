/**
 * The local matcher of EventBridge event patterns: the subset the app's rules use,
 * matched as the service does, and anything else refused when a rule is loaded.
 */
import { describe, expect, it } from 'vitest';
import { checkEventPattern, matchesEventPattern, UnsupportedEventPattern } from '../../local/event-pattern.js';

const event = (fields: Record<string, unknown>) => ({
  version: '0',
  id: 'e1',
  source: 'reelhook.client',
  'detail-type': 'Video Generation Requested',
  detail: { model: 'kling', tags: ['a', 'b'], nested: { level: 2 } },
  ...fields,
});

describe('matchesEventPattern', () => {
  const requested = { source: ['reelhook.client'], 'detail-type': ['Video Generation Requested'] };

  it('matches only when every field holds one of its values', () => {
    expect(matchesEventPattern(requested, event({}))).toBe(true);
    expect(matchesEventPattern(requested, event({ source: 'my.pipeline' }))).toBe(false);
    expect(matchesEventPattern(requested, event({ 'detail-type': 'Video Generation Completed' }))).toBe(false);
    expect(matchesEventPattern({ source: ['other', 'reelhook.client'] }, event({}))).toBe(true);
  });

  it('compares exactly: no case folding, no prefix unless asked for', () => {
    expect(matchesEventPattern(requested, event({ source: 'Reelhook.Client' }))).toBe(false);
    expect(matchesEventPattern(requested, event({ source: 'reelhook.client.evil' }))).toBe(false);
    expect(matchesEventPattern({ source: [{ prefix: 'reelhook.' }] }, event({ source: 'reelhook.client.x' }))).toBe(true);
    expect(matchesEventPattern({ source: [{ prefix: 'reelhook.' }] }, event({ source: 'reelhooked' }))).toBe(false);
  });

  it('needs the field to be present, and matches nested objects and any element of an array', () => {
    expect(matchesEventPattern({ resources: ['x'] }, event({}))).toBe(false);
    expect(matchesEventPattern({ detail: { model: ['kling'] } }, event({}))).toBe(true);
    expect(matchesEventPattern({ detail: { nested: { level: [2] } } }, event({}))).toBe(true);
    expect(matchesEventPattern({ detail: { nested: { level: ['2'] } } }, event({}))).toBe(false);
    expect(matchesEventPattern({ detail: { tags: ['b'] } }, event({}))).toBe(true);
    expect(matchesEventPattern({ detail: { model: { x: ['kling'] } } }, event({}))).toBe(false);
  });
});

describe('checkEventPattern', () => {
  it('accepts exact values and prefixes at any depth', () => {
    expect(() => checkEventPattern({ source: ['a', 1, true, null], detail: { k: [{ prefix: 'p' }] } }, 'rule R')).not.toThrow();
  });

  it.each([
    [{ source: [{ 'anything-but': 'x' }] }, 'source'],
    [{ detail: { size: [{ numeric: ['>', 1] }] } }, 'detail.size'],
    [{ source: 'reelhook.client' }, 'source'],
    [{ source: [] }, 'source'],
    [{}, 'non-empty'],
  ])('refuses %j, naming where', (pattern, where) => {
    expect(() => checkEventPattern(pattern, 'rule R')).toThrow(UnsupportedEventPattern);
    expect(() => checkEventPattern(pattern, 'rule R')).toThrow(where);
  });
});
