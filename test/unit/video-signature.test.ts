import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sniffVideoContainer, VIDEO_SIGNATURE_BYTES } from '#shared/video/signature.js';

function bytes(...parts: (string | number[])[]): Uint8Array {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
}

/** A box header: 32-bit big-endian size, then the four-character type. */
function box(size: number, type: string): Uint8Array {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, 'latin1');
  return header;
}

const EBML = [0x1a, 0x45, 0xdf, 0xa3];

describe('sniffVideoContainer', () => {
  it('recognises an MP4 by its ftyp box', () => {
    const mp4 = Buffer.concat([box(24, 'ftyp'), bytes('isom', [0, 0, 2, 0], 'isomiso2')]);
    expect(sniffVideoContainer(mp4)).toEqual({ container: 'mp4', contentType: 'video/mp4' });
  });

  it('recognises a QuickTime movie by the qt major brand of its ftyp box', () => {
    const mov = Buffer.concat([box(20, 'ftyp'), bytes('qt  ', [0, 0, 2, 0], 'qt  ')]);
    expect(sniffVideoContainer(mov)).toEqual({ container: 'quicktime', contentType: 'video/quicktime' });
  });

  it.each(['moov', 'mdat', 'free', 'wide', 'skip'])('recognises a QuickTime file that starts with a %s box', (type) => {
    expect(sniffVideoContainer(Buffer.concat([box(8, type), Buffer.alloc(32)]))?.contentType).toBe('video/quicktime');
  });

  it('recognises WebM by its EBML header and webm DocType', () => {
    const webm = bytes(EBML, [0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm', [0x42, 0x87, 0x81, 0x04]);
    expect(sniffVideoContainer(webm)).toEqual({ container: 'webm', contentType: 'video/webm' });
  });

  it('recognises other Matroska files by their matroska DocType', () => {
    const mkv = bytes(EBML, [0xa3, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88], 'matroska', [0x42, 0x87, 0x81, 0x04]);
    expect(sniffVideoContainer(mkv)).toEqual({ container: 'matroska', contentType: 'video/x-matroska' });
  });

  it('recognises AVI by its RIFF header with the AVI form type', () => {
    const avi = bytes('RIFF', [0x10, 0x20, 0x00, 0x00], 'AVI LIST');
    expect(sniffVideoContainer(avi)).toEqual({ container: 'avi', contentType: 'video/x-msvideo' });
  });

  it('rejects other RIFF files such as WAV audio', () => {
    expect(sniffVideoContainer(bytes('RIFF', [0x10, 0x20, 0x00, 0x00], 'WAVEfmt '))).toBeUndefined();
  });

  it.each([
    ['an HTML error page', bytes('<!DOCTYPE html><html><body>Request has expired</body></html>')],
    ['a JSON error', bytes('{"error":"expired"}')],
    ['a PNG image', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR')],
    ['an empty body', new Uint8Array()],
    ['a body cut inside the box header', bytes([0, 0, 0, 24], 'ft')],
  ])('rejects %s', (_label, input) => {
    expect(sniffVideoContainer(input)).toBeUndefined();
  });

  it('keeps recognising an MP4 whatever bytes follow its ftyp box', () => {
    const header = Buffer.concat([box(24, 'ftyp'), bytes('mp42', [0, 0, 0, 0], 'mp42isom')]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: VIDEO_SIGNATURE_BYTES * 2 }), (tail) => {
        expect(sniffVideoContainer(Buffer.concat([header, tail]))?.container).toBe('mp4');
      }),
    );
  });

  it('finds no video in text, whatever the text says', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: VIDEO_SIGNATURE_BYTES }), (text) => {
        // The sniffer does not check box sizes, so text spelling a box type at offset 4 would pass.
        fc.pre(!/^....(ftyp|moov|mdat|free|wide|skip)/s.test(text) && !text.startsWith('RIFF'));
        expect(sniffVideoContainer(Buffer.from(text, 'utf8'))).toBeUndefined();
      }),
    );
  });
});
