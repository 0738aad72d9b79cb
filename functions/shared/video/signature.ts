/**
 * Recognises video containers by their first bytes, so a copy never stores an HTML
 * error page or other non-video bytes that a provider URL may return with a
 * generic content type.
 */

export type VideoContainer = 'mp4' | 'quicktime' | 'webm' | 'matroska' | 'avi';

export interface VideoSignature {
  container: VideoContainer;
  /** The media type to store the object with when the source did not name one. */
  contentType: string;
}

/**
 * How many leading bytes the sniffer wants. Fewer work when the whole file is shorter;
 * this many let it read the EBML DocType that tells WebM from other Matroska files.
 */
export const VIDEO_SIGNATURE_BYTES = 64;

const CONTENT_TYPES: Record<VideoContainer, string> = {
  mp4: 'video/mp4',
  quicktime: 'video/quicktime',
  webm: 'video/webm',
  matroska: 'video/x-matroska',
  avi: 'video/x-msvideo',
};

/** Top-level ISO-BMFF / QuickTime boxes that older QuickTime files start with instead of `ftyp`. */
const QUICKTIME_LEADING_BOXES = new Set(['moov', 'mdat', 'free', 'wide', 'skip']);

const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/** Returns the container the bytes start like, or undefined when they do not look like a video. */
export function sniffVideoContainer(prefix: Uint8Array): VideoSignature | undefined {
  const container = detectContainer(prefix);
  return container === undefined ? undefined : { container, contentType: CONTENT_TYPES[container] };
}

function detectContainer(prefix: Uint8Array): VideoContainer | undefined {
  if (startsWith(prefix, EBML_MAGIC)) {
    // Matroska files carry their DocType ("webm" or "matroska") as text in the EBML header.
    return ascii(prefix, 4, prefix.length).includes('matroska') ? 'matroska' : 'webm';
  }
  if (ascii(prefix, 0, 4) === 'RIFF' && ascii(prefix, 8, 12) === 'AVI ') {
    return 'avi';
  }
  const boxType = ascii(prefix, 4, 8);
  if (boxType === 'ftyp') {
    // The major brand "qt  " marks a QuickTime movie; every other brand is an MP4 family file.
    return ascii(prefix, 8, 12) === 'qt  ' ? 'quicktime' : 'mp4';
  }
  if (QUICKTIME_LEADING_BOXES.has(boxType)) {
    return 'quicktime';
  }
  return undefined;
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, index) => bytes[index] === byte);
}

/** The bytes in [start, end) as Latin-1 text; shorter than end - start when the input is. */
function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}
