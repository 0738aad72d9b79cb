import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { CopyFailed, InvalidVideo } from '#shared/errors.js';
import type { StoredVideo } from '#shared/records/record.js';
import { PartedUpload, type PartedUploadTarget } from '#shared/video/parted-upload.js';
import { sniffVideoContainer, VIDEO_SIGNATURE_BYTES } from '#shared/video/signature.js';

/**
 * Copies a finished video from the provider's temporary URL into our bucket: streamed
 * into a multipart upload, counted and hashed on the way, never held whole in memory.
 */

export interface VideoCopyRequest {
  sourceUrl: string;
  bucket: string;
  key: string;
  /** Larger videos end in InvalidVideo (default configured by caller, e.g. 2 GiB). */
  maxBytes: number;
  s3: S3Client;
  /** Multipart part size and parallel parts (defaults 16 MiB, 3). */
  partSizeBytes?: number;
  queueSize?: number;
  /** Attempts to fetch the source, resuming with Range after a dropped connection (default 3). */
  maxFetchAttempts?: number;
  /** Delay between fetch attempts in ms (default 500; tests pass 0). */
  retryDelayMs?: number;
  /**
   * Aborted to give the copy up (the copy handler aborts it before Lambda's timeout): the
   * download stops, the upload is aborted, and the copy fails with CopyFailed, whose
   * message ends with the signal's reason when that is a string.
   */
  stop?: AbortSignal;
}

/** 16 MiB × 3 in flight: in the bench, 4.5 s per GiB against 5.1 s for 8 MiB × 4 (means of three runs), for about 20 MB more memory. */
export const DEFAULT_PART_SIZE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 3;
const DEFAULT_MAX_FETCH_ATTEMPTS = 3;
const DEFAULT_RETRY_DELAY_MS = 500;

/** Content types that say nothing about the bytes; the sniffer decides for them. */
const GENERIC_BINARY_TYPES = new Set(['application/octet-stream', 'binary/octet-stream']);

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

export async function copyVideoToS3(request: VideoCopyRequest): Promise<StoredVideo> {
  return new VideoCopy(request).run();
}

/** How one fetch ended: the whole body is in the writer, or a fault the next attempt may get past. */
type AttemptOutcome = { complete: ObjectWriter } | { fault: string };

class VideoCopy {
  readonly #request: VideoCopyRequest;
  readonly #url: URL;
  /** Origin and path only: the query of a provider URL may carry a signature. */
  readonly #safeUrl: string;
  readonly #s3Uri: string;
  /** The object being written from byte zero, once the source's first bytes passed the sniffer. */
  #writer: ObjectWriter | undefined;
  /** The source's full size, when content-length or content-range told it. */
  #expectedBytes: number | undefined;
  /** The video/* type the source declared, preferred over the sniffed one. */
  #declaredType: string | undefined;
  /** Present when the last full response offered byte ranges; holds the If-Range validator. */
  #rangeSupport: { validator: string | undefined } | undefined;
  readonly #stop: AbortSignal;

  constructor(request: VideoCopyRequest) {
    this.#request = request;
    this.#stop = request.stop ?? new AbortController().signal;
    this.#url = parseSourceUrl(request.sourceUrl);
    this.#safeUrl = `${this.#url.origin}${this.#url.pathname}`;
    this.#s3Uri = `s3://${request.bucket}/${request.key}`;
  }

  async run(): Promise<StoredVideo> {
    const attempts = Math.max(1, this.#request.maxFetchAttempts ?? DEFAULT_MAX_FETCH_ATTEMPTS);
    const delayMs = this.#request.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    const faults: string[] = [];
    try {
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        this.#throwIfStopped();
        if (attempt > 1 && delayMs > 0) await this.#untilStopped(sleep(delayMs));
        const outcome = await this.#fetchOnce();
        if ('complete' in outcome) return await this.#commit(outcome.complete);
        faults.push(`${attempt}: ${outcome.fault}`);
      }
    } catch (error) {
      await this.#abandonUpload();
      throw error;
    }
    await this.#abandonUpload();
    throw new CopyFailed(
      `could not download the video from ${this.#safeUrl} in ${attempts} attempts (${faults.join('; ')})`,
    );
  }

  async #fetchOnce(): Promise<AttemptOutcome> {
    const offset = await this.#resumeOffset();
    // Aborted whatever happens, so an unread or half-read body never holds its connection.
    const connection = new AbortController();
    try {
      let response: Response;
      try {
        response = await fetch(this.#url, {
          headers: this.#requestHeaders(offset),
          signal: AbortSignal.any([connection.signal, this.#stop]),
        });
      } catch (error) {
        this.#throwIfStopped();
        return { fault: `request failed: ${this.#describe(error)}` };
      }
      const { status } = response;
      if (status === 429 || status >= 500) return { fault: `HTTP ${status}` };
      if (offset > 0 && status === 206) {
        const mismatch = this.#checkContentRange(response, offset);
        if (mismatch !== undefined) {
          await this.#abandonUpload();
          return { fault: mismatch };
        }
        return await this.#receive(response.body);
      }
      if (offset > 0 && status === 416) {
        await this.#abandonUpload();
        return { fault: 'the server could not resume (HTTP 416); starting over' };
      }
      if (status !== 200) {
        throw new CopyFailed(`the source answered HTTP ${status} for ${this.#safeUrl}`);
      }
      // A full body: whatever was written before (if the server ignored the Range) starts over.
      await this.#abandonUpload();
      this.#acceptFullResponse(response.headers);
      return await this.#receive(response.body);
    } finally {
      connection.abort();
    }
  }

  /** Where the next request starts: after the bytes already written when the server offers ranges, else zero. */
  async #resumeOffset(): Promise<number> {
    const writer = this.#writer;
    if (writer === undefined) return 0;
    const expected = this.#expectedBytes;
    if (this.#rangeSupport !== undefined && writer.bytes > 0 && (expected === undefined || writer.bytes < expected)) {
      return writer.bytes;
    }
    await this.#abandonUpload();
    return 0;
  }

  #requestHeaders(offset: number): Record<string, string> {
    // Offsets and lengths must count the stored bytes, not a compressed transfer encoding of them.
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // If-Range makes a server whose file changed send all of the new one instead of a mismatched tail.
      const validator = this.#rangeSupport?.validator;
      if (validator !== undefined) headers['if-range'] = validator;
    }
    return headers;
  }

  /** Checks the type and size of a 200 answer before any of its bytes are stored. */
  #acceptFullResponse(headers: Headers): void {
    const mediaType = mediaTypeOf(headers.get('content-type'));
    const isVideoType = mediaType?.startsWith('video/') ?? false;
    if (mediaType !== undefined && !isVideoType && !GENERIC_BINARY_TYPES.has(mediaType)) {
      throw new InvalidVideo(`the source is ${mediaType}, not a video`);
    }
    this.#declaredType = isVideoType ? mediaType : undefined;

    const length = parseByteCount(headers.get('content-length'));
    if (length !== undefined && length > this.#request.maxBytes) {
      throw new InvalidVideo(`the video is ${length} bytes, over the limit of ${this.#request.maxBytes} bytes`);
    }
    this.#expectedBytes = length;

    const acceptsRanges = (headers.get('accept-ranges') ?? '')
      .toLowerCase()
      .split(',')
      .some((unit) => unit.trim() === 'bytes');
    const etag = headers.get('etag');
    const strongEtag = etag !== null && !etag.startsWith('W/') ? etag : undefined;
    this.#rangeSupport = acceptsRanges
      ? { validator: strongEtag ?? headers.get('last-modified') ?? undefined }
      : undefined;
  }

  /** A 206 must continue exactly where we stopped, in the same file; returns what is wrong otherwise. */
  #checkContentRange(response: Response, offset: number): string | undefined {
    const header = response.headers.get('content-range') ?? '';
    const match = CONTENT_RANGE.exec(header.trim());
    if (match === null) return `the resumed response has no usable content-range ("${header}"); starting over`;
    const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const expected = this.#expectedBytes;
    if (start !== offset || end !== total - 1 || (expected !== undefined && total !== expected)) {
      return `the server resumed with content-range "${header}" instead of bytes ${offset}-; starting over`;
    }
    if (total > this.#request.maxBytes) {
      throw new InvalidVideo(`the video is ${total} bytes, over the limit of ${this.#request.maxBytes} bytes`);
    }
    this.#expectedBytes = total;
    return undefined;
  }

  /** Streams a body into the writer; a fresh copy's first bytes are held until the sniffer can judge them. */
  async #receive(body: ReadableStream<Uint8Array> | null): Promise<AttemptOutcome> {
    const head: Uint8Array[] = [];
    let headBytes = 0;
    const received = () => (this.#writer?.bytes ?? 0) + headBytes;

    if (body !== null) {
      const reader = body.getReader();
      for (;;) {
        let chunk: Uint8Array;
        try {
          const read = await reader.read();
          if (read.done) break;
          chunk = read.value;
        } catch (error) {
          this.#throwIfStopped();
          return { fault: `connection lost after ${received()} bytes: ${this.#describe(error)}` };
        }
        if (this.#writer !== undefined) {
          await this.#write(this.#writer, chunk);
          continue;
        }
        head.push(chunk);
        headBytes += chunk.byteLength;
        if (headBytes >= VIDEO_SIGNATURE_BYTES) {
          await this.#startUpload(Buffer.concat(head));
          head.length = 0;
          headBytes = 0;
        }
      }
    }

    const total = received();
    if (this.#expectedBytes !== undefined && total !== this.#expectedBytes) {
      return { fault: `the body ended after ${total} of ${this.#expectedBytes} bytes` };
    }
    // A whole video shorter than the sniffer's window is judged on what there is.
    const writer = this.#writer ?? (await this.#startUpload(Buffer.concat(head)));
    return { complete: writer };
  }

  async #startUpload(head: Uint8Array): Promise<ObjectWriter> {
    const signature = sniffVideoContainer(head);
    if (signature === undefined) {
      throw new InvalidVideo(`the bytes from ${this.#safeUrl} do not start like a video container`);
    }
    const { s3, bucket, key } = this.#request;
    const writer = new ObjectWriter({
      s3,
      bucket,
      key,
      s3Uri: this.#s3Uri,
      contentType: this.#declaredType ?? signature.contentType,
      partSizeBytes: this.#request.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES,
      queueSize: this.#request.queueSize ?? DEFAULT_QUEUE_SIZE,
    });
    this.#writer = writer;
    await this.#write(writer, head);
    return writer;
  }

  async #write(writer: ObjectWriter, chunk: Uint8Array): Promise<void> {
    if (writer.bytes + chunk.byteLength > this.#request.maxBytes) {
      throw new InvalidVideo(`the video grew past the limit of ${this.#request.maxBytes} bytes`);
    }
    await this.#untilStopped(writer.write(chunk));
  }

  async #commit(writer: ObjectWriter): Promise<StoredVideo> {
    // Stopped while S3 assembles the object, the abort races a CompleteMultipartUpload
    // already sent: either way the key holds the whole video or nothing.
    const sha256 = await this.#untilStopped(writer.finish());
    this.#writer = undefined;
    const { bucket, key } = this.#request;
    return {
      bucket,
      key,
      s3_uri: this.#s3Uri,
      size_bytes: writer.bytes,
      sha256,
      content_type: writer.contentType,
    };
  }

  /**
   * Waits for `step` unless the copy is stopped first. A step left behind (a part upload
   * S3 is slow to take) settles unobserved; the abort that follows waits for its parts
   * rather than cancelling them, since a part cancelled mid-request may still be stored
   * after the AbortMultipartUpload, as S3 warns (and the local stand-in showed).
   */
  async #untilStopped<T>(step: Promise<T>): Promise<T> {
    step.catch(() => undefined);
    this.#throwIfStopped();
    const stop = this.#stop;
    let onStop = (): void => undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      onStop = () => reject(this.#stoppedError());
      stop.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([step, stopped]);
    } finally {
      stop.removeEventListener('abort', onStop);
    }
  }

  #throwIfStopped(): void {
    if (this.#stop.aborted) throw this.#stoppedError();
  }

  #stoppedError(): CopyFailed {
    const bytes = this.#writer?.bytes ?? 0;
    const of = this.#expectedBytes === undefined ? '' : ` of ${this.#expectedBytes}`;
    const reason = typeof this.#stop.reason === 'string' ? ` ${this.#stop.reason}` : '';
    return new CopyFailed(`the copy was stopped${reason}, after ${bytes}${of} bytes from ${this.#safeUrl}; its upload was aborted`);
  }

  async #abandonUpload(): Promise<void> {
    const writer = this.#writer;
    this.#writer = undefined;
    await writer?.discard();
  }

  /** An error's message chain with the source URL reduced to origin and path. */
  #describe(error: unknown): string {
    return describeError(error).split(this.#url.href).join(this.#safeUrl);
  }
}

interface ObjectTarget extends PartedUploadTarget {
  s3Uri: string;
}

/** One upload of the object from byte zero, with the count and sha256 of the bytes fed to it. */
class ObjectWriter {
  readonly contentType: string;
  bytes = 0;
  readonly #hash = createHash('sha256');
  readonly #upload: PartedUpload;
  readonly #s3Uri: string;

  constructor(target: ObjectTarget) {
    this.contentType = target.contentType;
    this.#s3Uri = target.s3Uri;
    this.#upload = new PartedUpload(target);
  }

  /** Counts, hashes and queues a chunk; waits while the upload's parts in flight are at the limit. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk);
    this.bytes += chunk.byteLength;
    await this.#stored(this.#upload.write(chunk));
  }

  /** Waits for S3 to assemble the object; returns the hex sha256 of its bytes. */
  async finish(): Promise<string> {
    await this.#stored(this.#upload.finish());
    return this.#hash.digest('hex');
  }

  /** Gives the upload up, once the parts in flight settle, so that no part stays behind. */
  async discard(): Promise<void> {
    await this.#upload.abort();
  }

  async #stored(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch (error) {
      throw new CopyFailed(`could not store the video in ${this.#s3Uri}: ${describeError(error)}`, { cause: error });
    }
  }
}

function parseSourceUrl(sourceUrl: string): URL {
  let url: URL;
  try {
    url = new URL(sourceUrl);
  } catch {
    throw new CopyFailed('the video source URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CopyFailed(`the video source URL uses ${url.protocol}; only http and https are fetched`);
  }
  return url;
}

/** The lower-cased media type without parameters; undefined when the header is absent or empty. */
function mediaTypeOf(header: string | null): string | undefined {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase();
  return mediaType ? mediaType : undefined;
}

function parseByteCount(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/** "message: cause message (CODE)…" down the cause chain, which is where fetch puts the useful part. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    const name = current.name !== 'Error' && current.name !== 'TypeError' ? `${current.name}: ` : '';
    parts.push(`${name}${current.message}${code ? ` (${code})` : ''}`);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}
