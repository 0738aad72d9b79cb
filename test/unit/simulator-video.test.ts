import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  FIXTURE_PATH,
  freeBoxHeader,
  parseRange,
  SimulatedVideo,
} from '../../local/simulator/video.js';

const fixture = await readFile(FIXTURE_PATH);

function bytesOf(video: SimulatedVideo, start: number, end: number): Buffer {
  return Buffer.concat([...video.chunks({ start, end })]);
}

describe('the fixture', () => {
  it('is a small MP4 that starts with an ftyp box and has its moov before mdat', () => {
    expect(fixture.length).toBeLessThan(64 * 1024);
    expect(fixture.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(fixture.indexOf('moov')).toBeLessThan(fixture.indexOf('mdat'));
  });
});

describe('freeBoxHeader', () => {
  it('writes a 32-bit size and the free type for boxes up to 4 GiB', () => {
    expect(freeBoxHeader(0x1234).toString('hex')).toBe('0000123466726565');
  });

  it('uses the 64-bit largesize form past 4 GiB', () => {
    const header = freeBoxHeader(5 * 1024 ** 3);
    expect(header.length).toBe(16);
    expect(header.readUInt32BE(0)).toBe(1);
    expect(header.subarray(4, 8).toString('latin1')).toBe('free');
    expect(header.readBigUInt64BE(8)).toBe(BigInt(5 * 1024 ** 3));
  });
});

describe('SimulatedVideo', () => {
  it('serves the fixture unchanged by default', () => {
    const video = new SimulatedVideo(fixture);
    expect(video.size).toBe(fixture.length);
    expect(bytesOf(video, 0, video.size).equals(fixture)).toBe(true);
  });

  it('pads to the exact size with one free box after the fixture', () => {
    const size = fixture.length + 1000;
    const bytes = bytesOf(new SimulatedVideo(fixture, size), 0, size);
    expect(bytes.length).toBe(size);
    expect(bytes.subarray(0, fixture.length).equals(fixture)).toBe(true);
    expect(bytes.readUInt32BE(fixture.length)).toBe(1000);
    expect(bytes.subarray(fixture.length + 4, fixture.length + 8).toString('latin1')).toBe('free');
    expect(bytes.subarray(fixture.length + 8).every((byte) => byte === 0)).toBe(true);
  });

  it('gives the same bytes for any range as for the whole file', () => {
    const size = fixture.length + 200_000;
    const video = new SimulatedVideo(fixture, size);
    const whole = bytesOf(video, 0, size);
    for (const [start, end] of [
      [0, 1],
      [fixture.length - 3, fixture.length + 5],
      [fixture.length + 4, fixture.length + 70_000],
      [size - 10, size],
    ] as const) {
      expect(bytesOf(video, start, end).equals(whole.subarray(start, end))).toBe(true);
    }
  });

  it('produces a 1 GiB padded video in chunks of at most 1 MiB', () => {
    const size = 1024 ** 3;
    const video = new SimulatedVideo(fixture, size);
    let total = 0;
    let largestPaddingChunk = 0;
    for (const chunk of video.chunks({ start: fixture.length, end: size })) {
      total += chunk.length;
      largestPaddingChunk = Math.max(largestPaddingChunk, chunk.length);
    }
    expect(total).toBe(size - fixture.length);
    expect(largestPaddingChunk).toBeLessThanOrEqual(1024 ** 2);
  });

  it.each([
    ['smaller than the fixture', -1],
    ['too small for a free box header', 7],
    ['fractional', 100.5],
  ])('rejects a size %s', (_case, extra) => {
    expect(() => new SimulatedVideo(fixture, fixture.length + extra)).toThrow(RangeError);
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 100 }],
    ['bytes=100-', { start: 100, end: 1000 }],
    ['bytes=900-5000', { start: 900, end: 1000 }],
    ['bytes=-10', { start: 990, end: 1000 }],
    ['bytes=-5000', { start: 0, end: 1000 }],
  ])('reads %s', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each([undefined, 'bytes=0-1,5-9', 'items=0-9', 'bytes=-', 'bytes=9-1'])(
    'serves the whole file for %s',
    (header) => {
      expect(parseRange(header, 1000)).toBeUndefined();
    },
  );

  it.each(['bytes=1000-', 'bytes=-0'])('finds %s unsatisfiable', (header) => {
    expect(parseRange(header, 1000)).toBe('unsatisfiable');
  });
});
