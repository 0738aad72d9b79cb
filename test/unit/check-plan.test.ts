import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLLING_BOUNDS } from '#shared/polling/bounds.js';
import { planPendingCheck, type CheckPlanInput } from '#shared/polling/check-plan.js';
import { EMPTY_HISTOGRAM, histogramOf } from '#shared/polling/duration-history.js';
import { buildPollSchedule, clearScheduleCache } from '#shared/polling/schedule.js';
import { findModel } from '#shared/provider/models.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';
const now = Date.parse('2026-01-01T00:10:00Z');
const reads: string[] = [];
const history: CheckPlanInput['history'] = {
  loadHistogram: async (model) => {
    reads.push(model);
    return EMPTY_HISTOGRAM;
  },
};
const item = (fields: Partial<CheckPlanInput['item']> = {}): CheckPlanInput['item'] => ({
  model: MODEL,
  created_at: '2026-01-01T00:00:00Z',
  deadline_at: '2026-01-01T01:00:00Z',
  timeline: { accepted: '2026-01-01T00:00:00Z', provider_accepted: '2026-01-01T00:10:00Z' },
  ...fields,
});
const plan = (fields: Partial<CheckPlanInput> = {}) =>
  planPendingCheck({ item: item(), polls: 0, now, waitScale: 1, bounds: DEFAULT_POLLING_BOUNDS, history, ...fields });

beforeEach(() => {
  clearScheduleCache();
  reads.length = 0;
});

describe('planPendingCheck', () => {
  const typical = findModel(MODEL)!.typicalSeconds;
  const seeds = buildPollSchedule({ histogram: EMPTY_HISTOGRAM, typicalSeconds: typical, bounds: DEFAULT_POLLING_BOUNDS });

  it('plans the first check from the model’s schedule, counted from the provider’s acceptance', async () => {
    const first = await plan();
    expect(first).toEqual({ status: 'pending', polls: 0, wait_seconds: seeds.offsets[0], next_check_at: new Date(now + seeds.offsets[0]! * 1000).toISOString().replace('.000Z', 'Z') });
    expect(reads).toEqual([MODEL]);
  });

  it('plans a later check up to the next planned time', async () => {
    const [firstOffset, secondOffset] = seeds.offsets;
    const later = await plan({ polls: 1, now: now + firstOffset! * 1000 });
    expect(later.polls).toBe(1);
    expect(later.wait_seconds).toBe(secondOffset! - firstOffset!);
  });

  it('counts from the record’s creation when the provider’s acceptance is not recorded', async () => {
    const fromCreation = await plan({ item: item({ timeline: { accepted: '2026-01-01T00:00:00Z' } }), polls: 1 });
    const fromAcceptance = await plan({ polls: 1 });
    expect(fromCreation.wait_seconds).not.toBe(fromAcceptance.wait_seconds);
  });

  it('never plans past the deadline, and runs the wait faster under a local wait scale', async () => {
    expect((await plan({ item: item({ deadline_at: '2026-01-01T00:10:03Z' }) })).wait_seconds).toBe(3);
    const scaled = await plan({ waitScale: 0.01 });
    expect(scaled.wait_seconds).toBe(seeds.offsets[0]);
    expect(Date.parse(scaled.next_check_at) - now).toBeCloseTo(seeds.offsets[0]! * 10, -1);
  });

  it('carries the provider job, and checks at the expected end of one that waited for its slot', async () => {
    const learned: CheckPlanInput['history'] = { loadHistogram: async () => histogramOf(Array(100).fill(186)) };
    const atElapsed = (seconds: number, waitedForSlot: boolean) =>
      plan({ polls: 3, now: now + seconds * 1000, history: learned, job: { id: 'prov-1', waited_for_slot: waitedForSlot } });
    const scheduled = await atElapsed(150, false);
    expect(scheduled.job).toEqual({ id: 'prov-1', waited_for_slot: false });
    const queued = await atElapsed(150, true);
    expect(queued.job).toEqual({ id: 'prov-1', waited_for_slot: true });
    expect(150 + queued.wait_seconds).toBeGreaterThan(180);
    expect(150 + queued.wait_seconds).toBeLessThan(192);
    expect(queued.wait_seconds).toBeLessThan(scheduled.wait_seconds);
  });

  it('uses the seeds’ typical duration for a model missing from the registry', async () => {
    const unknown = await plan({ item: item({ model: 'not/in/the/registry' }) });
    expect(unknown.wait_seconds).toBeGreaterThan(0);
    expect(reads).toEqual(['not/in/the/registry']);
  });
});
