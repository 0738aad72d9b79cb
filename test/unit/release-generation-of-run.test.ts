import { describe, expect, it } from 'vitest';
import { generationOfRun } from '../../functions/release/generation-of-run.js';

describe('generationOfRun', () => {
  it("names the generation of its own run, whose slot the release gives back", () => {
    expect(generationOfRun(JSON.stringify({ generation_id: 'gen_01', admission: { timeout_seconds: 600 } }))).toBe('gen_01');
  });

  it('ignores delivery-only runs (they carry a notification and never held a slot)', () => {
    expect(generationOfRun(JSON.stringify({ generation_id: 'gen_01', notification: { event: 'generation.started' } }))).toBeNull();
  });

  it('ignores inputs that are missing, not JSON or without a generation id', () => {
    expect(generationOfRun(undefined)).toBeNull();
    expect(generationOfRun(null)).toBeNull();
    expect(generationOfRun('{not json')).toBeNull();
    expect(generationOfRun(JSON.stringify({ generation_id: 42 }))).toBeNull();
  });
});
