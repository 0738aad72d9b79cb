import { describe, expect, it } from 'vitest';
import { GenerationMissing, ReelhookError } from '#shared/errors.js';
import type { GenerationStore } from '#shared/records/generation-store.js';
import type { GenerationItem } from '#shared/records/record.js';
import { loadGeneration, stopIfEnded } from '#shared/workflow/steps.js';

const item = (fields: Partial<GenerationItem>): GenerationItem => ({ id: 'gen_1', status: 'generating', error: null, ...fields }) as GenerationItem;

describe('stopIfEnded', () => {
  it('stops a step of a generation that ended elsewhere with the recorded outcome', () => {
    const cancelled = item({ status: 'error', error: { name: 'Cancelled', message: 'cancelled by the caller' } });
    expect(() => stopIfEnded(cancelled)).toThrow(ReelhookError);
    expect(() => stopIfEnded(cancelled)).toThrow(expect.objectContaining({ name: 'Cancelled', message: 'cancelled by the caller' }));
  });

  it('lets a running or completed generation go on', () => {
    expect(() => stopIfEnded(item({ status: 'generating' }))).not.toThrow();
    expect(() => stopIfEnded(item({ status: 'completed' }))).not.toThrow();
  });
});

describe('loadGeneration', () => {
  it('fails with GenerationMissing for a record that is not in the table', async () => {
    const empty = { get: async () => null } as unknown as GenerationStore;
    await expect(loadGeneration(empty, 'gen_gone')).rejects.toThrow(GenerationMissing);
    await expect(loadGeneration(empty, 'gen_gone')).rejects.toMatchObject({ name: 'GenerationMissing' });
  });
});
