/**
 * The simulated output video: the fixture MP4, optionally padded to an exact size with
 * one top-level `free` box (players skip `free` boxes, so the file stays playable).
 * Bytes are produced on demand from three segments (fixture, box header, zeros), so a
 * video padded to gigabytes is served with a fixed, small amount of memory.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { FaultOf } from './faults.js';
import { send } from './responses.js';

/** A real 2 s, 320x180 H.264 MP4; see test/fixtures/README.md for how it was made. */
export const FIXTURE_PATH = fileURLToPath(
  new URL('../../test/fixtures/sample.mp4', import.meta.url),
);

const MAX_32_BIT_BOX_SIZE = 0xffff_ffff;
// One shared, never-written buffer: every zero-filled write reuses it, so padding costs no memory.
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
const OVERSIZED_CLAIM_BYTES = 3 * 1024 ** 3;
const OVERSIZED_SENT_BYTES = 64 * 1024;

/** The header of a `free` box spanning `boxSize` bytes (64-bit `largesize` form past 4 GiB). */
export function freeBoxHeader(boxSize: number): Buffer {
  if (boxSize <= MAX_32_BIT_BOX_SIZE) {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(boxSize, 0);
    header.write('free', 4, 'latin1');
    return header;
  }
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0);
  header.write('free', 4, 'latin1');
  header.writeBigUInt64BE(BigInt(boxSize), 8);
  return header;
}

/** A half-open byte range `[start, end)`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export class SimulatedVideo {
  private readonly paddingHeader: Buffer;

  /** Throws RangeError when `size` cannot be reached with a whole `free` box. */
  constructor(
    private readonly fixture: Buffer,
    readonly size: number = fixture.length,
  ) {
    const padding = size - fixture.length;
    if (!Number.isSafeInteger(size) || padding < 0 || (padding > 0 && padding < 8)) {
      throw new RangeError(
        `videoSizeBytes must be an integer equal to ${fixture.length} (the fixture) or at least ${fixture.length + 8}`,
      );
    }
    this.paddingHeader = padding === 0 ? Buffer.alloc(0) : freeBoxHeader(padding);
  }

  static async load(size?: number, fixturePath = FIXTURE_PATH): Promise<SimulatedVideo> {
    return new SimulatedVideo(await readFile(fixturePath), size);
  }

  /** The bytes of `range` in order, in chunks of at most 1 MiB past the fixture. */
  *chunks(range: ByteRange): Generator<Buffer> {
    const headerEnd = this.fixture.length + this.paddingHeader.length;
    let position = range.start;
    if (position < this.fixture.length) {
      const end = Math.min(range.end, this.fixture.length);
      yield this.fixture.subarray(position, end);
      position = end;
    }
    if (position < range.end && position < headerEnd) {
      const end = Math.min(range.end, headerEnd);
      yield this.paddingHeader.subarray(position - this.fixture.length, end - this.fixture.length);
      position = end;
    }
    while (position < range.end) {
      const length = Math.min(range.end - position, ZERO_CHUNK.length);
      yield ZERO_CHUNK.subarray(0, length);
      position += length;
    }
  }
}

/**
 * Reads a single `Range: bytes=…` request. `undefined` means serve the whole file (no
 * header, or one this server ignores such as several ranges, as RFC 9110 allows).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '') {
    if (last === '') return undefined;
    const suffix = Number(last);
    return suffix === 0 || size === 0
      ? 'unsatisfiable'
      : { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size : Math.min(Number(last) + 1, size) };
}

function waitForDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Writes the chunks with backpressure; stops early if the client goes away. */
async function writeChunks(res: ServerResponse, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await waitForDrainOrClose(res);
  }
}

/** Flushes what was written, then drops the connection before the promised length. */
async function writeChunksThenHangUp(res: ServerResponse, chunks: Iterable<Buffer>): Promise<void> {
  await writeChunks(res, chunks);
  if (res.destroyed) return;
  await new Promise<void>((resolve) => res.write(Buffer.alloc(0), () => resolve()));
  res.destroy();
}

const HTML_PAGE =
  '<!DOCTYPE html><html><head><title>Access denied</title></head>' +
  '<body><h1>Access denied</h1><p>This link has expired. Please sign in again.</p></body></html>';

/** Answers a GET or HEAD for the video, misbehaving as `fault` says (GET only). */
export async function serveVideo(
  req: IncomingMessage,
  res: ServerResponse,
  video: SimulatedVideo,
  fault: FaultOf<'video'> | undefined,
): Promise<void> {
  switch (fault) {
    case 'video-503':
      send(res, {
        statusCode: 503,
        contentType: 'text/plain; charset=utf-8',
        body: 'Service Unavailable',
        headers: { 'retry-after': '1' },
      });
      return;
    case 'video-html':
      send(res, { statusCode: 200, contentType: 'text/html; charset=utf-8', body: HTML_PAGE });
      return;
    case 'video-oversized':
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': OVERSIZED_CLAIM_BYTES });
      await writeChunksThenHangUp(
        res,
        video.chunks({ start: 0, end: Math.min(OVERSIZED_SENT_BYTES, video.size) }),
      );
      return;
    case 'video-truncated':
    case undefined:
      break;
  }

  const range = parseRange(req.headers.range, video.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${video.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const served = range ?? { start: 0, end: video.size };
  res.writeHead(range === undefined ? 200 : 206, {
    'content-type': 'video/mp4',
    'content-length': served.end - served.start,
    'accept-ranges': 'bytes',
    ...(range === undefined
      ? {}
      : { 'content-range': `bytes ${range.start}-${range.end - 1}/${video.size}` }),
  });
  if (req.method === 'HEAD') {
    res.end();
  } else if (fault === 'video-truncated') {
    const half = served.start + Math.floor((served.end - served.start) / 2);
    await writeChunksThenHangUp(res, video.chunks({ start: served.start, end: half }));
  } else {
    await writeChunks(res, video.chunks(served));
    if (!res.destroyed) res.end();
  }
}
