import { describe, expect, it } from 'vitest';
import { PLAIN_INTERVAL_MS, Progress, type ProgressStream } from '../../cli/progress.js';
import type { PublicGeneration } from '#shared/records/record.js';
import { publicGeneration } from '../support/public-generation.js';

const ACCEPTED = Date.parse('2026-01-01T00:00:10.000Z');

/** A generation read `at`, expected to need 100 s of provider time from ACCEPTED. */
function generating(at: number, overrides: Partial<PublicGeneration> = {}): PublicGeneration {
  const completesAt = ACCEPTED + 100_000;
  const p50 = Math.max(0, (completesAt - at) / 1000);
  return publicGeneration({
    timeline: { accepted: '2026-01-01T00:00:00.000Z', provider_accepted: new Date(ACCEPTED).toISOString() },
    estimate: { completes_at: new Date(completesAt).toISOString(), remaining_seconds: { p50, p90: p50 + 30 }, basis: 'learned', samples: 12 },
    ...overrides,
  });
}

function recorder(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  const stream: ProgressStream = { isTTY, columns, write: (text: string) => writes.push(text) };
  return { stream, writes };
}

describe('Progress when the output is not a terminal', () => {
  it('prints a plain line at each change of phase and every few seconds in between', () => {
    const { stream, writes } = recorder(false);
    let now = ACCEPTED;
    const progress = new Progress({ stream, clock: () => now });
    progress.update({ ...generating(now), status: 'queued', estimate: null, timeline: { accepted: '2026-01-01T00:00:00.000Z' } });
    // 12 s of reads every 500 ms, all in one phase.
    for (let i = 0; i < 24; i += 1) {
      now += 500;
      progress.update(generating(now));
    }
    progress.done({ ...generating(now), status: 'completed', estimate: null });
    expect(writes.every((line) => line.endsWith('\n') && !line.includes('\r') && !line.includes('\x1b'))).toBe(true);
    const lines = writes.map((line) => line.trimEnd());
    expect(lines[0]).toMatch(/^\[-{20}\]\s+0% {2}queued {2}elapsed 0:00/);
    // The phase change at 0.5 s, then one line per PLAIN_INTERVAL_MS: 5.5 s and 10.5 s.
    const running = lines.filter((line) => line.includes('generating (provider: processing)'));
    expect(running).toHaveLength(1 + Math.floor((12_000 - 500) / PLAIN_INTERVAL_MS));
    expect(running[0]).toMatch(/^\[#*-*\]\s+\d+% {2}generating \(provider: processing\) {2}elapsed 0:01 {2}ETA 1:40 \(p90 2:10, learned\) {2}polls 3$/);
    expect(running[1]).toContain('elapsed 0:06  ETA 1:35');
    expect(lines.at(-1)).toMatch(/^\[#{20}\] 100% {2}completed {2}elapsed 0:12/);
  });

  it('fills the bar by the share of the expected provider time spent', () => {
    const { stream, writes } = recorder(false);
    new Progress({ stream, clock: () => 0 }).update(generating(ACCEPTED + 25_000));
    expect(writes[0]).toMatch(/^\[#{5}-{15}\]\s+25%/);
  });

  it('says what it does not know rather than inventing an ETA', () => {
    const { stream, writes } = recorder(false);
    const progress = new Progress({ stream, clock: () => 0 });
    progress.update(generating(ACCEPTED, { estimate: null }));
    progress.update(generating(ACCEPTED, { estimate: null, timeline: { provider_accepted: '2026-01-01T00:00:10.000Z', provider_done: '2026-01-01T00:01:40.000Z' } }));
    expect(writes[0]).toMatch(/^\[-{20}\] {4}\? {2}generating \(provider: processing\) {2}elapsed 0:00 {2}ETA unknown {2}polls 3\n$/);
    expect(writes[1]).toContain('100%  copying the video');
    expect(writes[1]).not.toContain('ETA');
  });
});

describe('Progress on a terminal', () => {
  it('redraws one line on every update and ends it once done', () => {
    const { stream, writes } = recorder(true, 60);
    let now = ACCEPTED;
    const progress = new Progress({ stream, clock: () => now });
    for (let i = 0; i < 3; i += 1) {
      now += 500;
      progress.update(generating(now));
    }
    progress.done({ ...generating(now), status: 'completed', estimate: null });
    expect(writes).toHaveLength(5);
    for (const write of writes.slice(0, 4)) {
      expect(write.startsWith('\r\x1b[2K')).toBe(true);
      expect(write).not.toContain('\n');
      expect(write.length - '\r\x1b[2K'.length).toBeLessThanOrEqual(59);
    }
    expect(writes[0]).toContain('░'.repeat(20));
    expect(writes[3]).toContain(`${'█'.repeat(20)}] 100%  completed`);
    expect(writes.at(-1)).toBe('\n');
  });
});
