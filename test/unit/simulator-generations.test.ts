import { describe, expect, it } from 'vitest';
import { parseFaultDirectives } from '../../local/simulator/faults.js';
import {
  creditsUsed,
  GenerationStore,
  newGenerationId,
  timelineStatus,
} from '../../local/simulator/generations.js';
import type { CreateRequest } from '../../local/simulator/validation.js';

const request: CreateRequest = {
  model: 'kling-video/v1.6/standard/text-to-video',
  prompt: 'a cat',
  durationSeconds: 5,
};

describe('timelineStatus', () => {
  it('is queued for the first third of the processing time', () => {
    expect(timelineStatus(0, 3000)).toBe('queued');
    expect(timelineStatus(999, 3000)).toBe('queued');
  });

  it('is generating from the first third until the processing time ends', () => {
    expect(timelineStatus(1000, 3000)).toBe('generating');
    expect(timelineStatus(2999, 3000)).toBe('generating');
  });

  it('is completed once the processing time has passed', () => {
    expect(timelineStatus(3000, 3000)).toBe('completed');
    expect(timelineStatus(86_400_000, 3000)).toBe('completed');
  });

  it('is completed at once when the processing time is zero', () => {
    expect(timelineStatus(0, 0)).toBe('completed');
  });
});

describe('newGenerationId', () => {
  it('makes 21-character URL-safe ids like the provider', () => {
    for (let i = 0; i < 200; i += 1) expect(newGenerationId()).toMatch(/^[A-Za-z0-9_-]{21}$/);
  });

  it('does not repeat ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newGenerationId()));
    expect(ids.size).toBe(1000);
  });
});

describe('GenerationStore', () => {
  it('moves a generation along its timeline as the clock advances', () => {
    let now = 1_000_000;
    const store = new GenerationStore(3000, () => now);
    const generation = store.create(request, []);

    expect(store.statusOf(generation)).toBe('queued');
    now += 1500;
    expect(store.statusOf(generation)).toBe('generating');
    now += 1500;
    expect(store.statusOf(generation)).toBe('completed');
  });

  it('with pollsToComplete, completes at the n-th status check whatever the clock says', () => {
    let now = 1_000_000;
    const store = new GenerationStore(3000, () => now, 3);
    const generation = store.create(request, []);
    now += 86_400_000;
    expect(store.statusOf(generation)).toBe('queued');
    expect(store.poll(generation)).toBe('generating');
    expect(store.poll(generation)).toBe('generating');
    // Looking does not move it on; only status checks do.
    expect(store.statusOf(generation)).toBe('generating');
    expect(store.poll(generation)).toBe('completed');
    expect(store.statusOf(generation)).toBe('completed');
  });

  it('finds generations by id and nothing else', () => {
    const store = new GenerationStore(3000);
    const generation = store.create(request, []);
    expect(store.get(generation.id)).toBe(generation);
    expect(store.get('vn9XMO80UyV9BSq6K6G_O')).toBeUndefined();
  });

  it('keeps the fault directives of the prompt with the generation', () => {
    const store = new GenerationStore(3000);
    const generation = store.create(request, parseFaultDirectives('[sim:status-never*1]'));
    expect(generation.faults.take('status')).toBe('status-never');
    expect(generation.faults.take('status')).toBeUndefined();
  });
});

describe('creditsUsed', () => {
  it('charges a ten-second video twice a five-second one', () => {
    const store = new GenerationStore(0);
    const short = store.create(request, []);
    const long = store.create({ ...request, durationSeconds: 10 }, []);
    expect(creditsUsed(short)).toBeGreaterThan(0);
    expect(creditsUsed(long)).toBe(2 * creditsUsed(short));
  });
});
