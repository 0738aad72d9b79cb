import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CopyFailed, InvalidVideo } from '#shared/errors.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { copyVideoToS3, type VideoCopyRequest } from '#shared/video/copy.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../local/s3.js';
import { waitFor } from '../support/http.js';

const MiB = 1024 * 1024;
const BUCKET = 'reelhook-videos';
/** lib-storage's smallest part, so a few MB already make a multipart upload. */
const PART_SIZE = 5 * MiB;
/** Stands in for the signature a provider's presigned URL carries; it must never reach a message. */
const SECRET_QUERY = 'X-Amz-Signature=0123456789abcdef';

/** A 24-byte ftyp box, as at the start of an ordinary MP4. */
function ftypBox(): Buffer {
  const box = Buffer.alloc(24);
  box.writeUInt32BE(24, 0);
  box.write('ftypisom', 4, 'latin1');
  box.writeUInt32BE(0x200, 12);
  box.write('isomiso2', 16, 'latin1');
  return box;
}

/** Pseudo-random bytes that start like an MP4. */
function fakeMp4(size: number): Buffer {
  const data = randomBytes(size);
  ftypBox().copy(data, 0);
  return data;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Which requests one route saw: the Range and If-Range headers of each. */
interface SeenRequest {
  range: string | undefined;
  ifRange: string | undefined;
}
/** Answers one request to a route; `index` counts that route's requests from 0. */
type Respond = (request: IncomingMessage, response: ServerResponse, index: number) => void;

let sourceServer: Server;
let sourceOrigin: string;
const routes = new Map<string, { respond: Respond; seen: SeenRequest[] }>();
let routeCount = 0;

let dataDir: string;
let localS3: LocalS3;
let s3: S3Client;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-video-copy-'));
  localS3 = await startLocalS3({ directory: dataDir, buckets: [BUCKET] });
  s3 = new S3Client(localS3ClientConfig(localS3.endpoint));

  sourceServer = createServer((request, response) => {
    const route = routes.get(new URL(request.url ?? '/', 'http://source').pathname);
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const index = route.seen.length;
    const ifRange = request.headers['if-range'];
    route.seen.push({ range: request.headers.range, ifRange: typeof ifRange === 'string' ? ifRange : undefined });
    route.respond(request, response, index);
  });
  await new Promise<void>((resolve) => sourceServer.listen(0, '127.0.0.1', resolve));
  sourceOrigin = `http://127.0.0.1:${(sourceServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  sourceServer?.closeAllConnections();
  await new Promise((resolve) => sourceServer?.close(resolve));
  s3?.destroy();
  await localS3?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Serves a route at a fresh path, with a signed-looking query, and records what it was asked. */
function serve(respond: Respond): { url: string; key: string; seen: SeenRequest[] } {
  routeCount += 1;
  const path = `/generations/${routeCount}/video.mp4`;
  const seen: SeenRequest[] = [];
  routes.set(path, { respond, seen });
  return { url: `${sourceOrigin}${path}?${SECRET_QUERY}`, key: `videos/test-${routeCount}.mp4`, seen };
}

interface ServeBytesOptions {
  /** null: no content-type header at all. */
  contentType?: string | null;
  /** honour: 206 for Range requests; ignore: advertises ranges, answers 200 anyway; none: no ranges. */
  ranges?: 'honour' | 'ignore' | 'none';
  /** Cut the connection on the first request after this many body bytes. */
  dropFirstRequestAfter?: number;
  /** Send no content-length (chunked), so only the stream shows the size. */
  chunked?: boolean;
}

const ETAG = '"v1-etag"';

function serveBytes(data: Buffer, options: ServeBytesOptions = {}): Respond {
  const { contentType = 'video/mp4', ranges = 'honour', dropFirstRequestAfter, chunked = false } = options;
  return (request, response, index) => {
    const headers: Record<string, string | number> = { etag: ETAG };
    if (contentType !== null) headers['content-type'] = contentType;
    if (ranges !== 'none') headers['accept-ranges'] = 'bytes';

    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    let body = data;
    let status = 200;
    if (range !== null && ranges === 'honour') {
      const start = Number(range[1]);
      body = data.subarray(start);
      status = 206;
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    if (!chunked) headers['content-length'] = body.length;
    response.writeHead(status, headers);

    if (index === 0 && dropFirstRequestAfter !== undefined) {
      // Flush part of the body, then cut the connection as a failing network would.
      response.write(body.subarray(0, dropFirstRequestAfter), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  };
}

function copyRequest(url: string, key: string, overrides: Partial<VideoCopyRequest> = {}): VideoCopyRequest {
  return {
    sourceUrl: url,
    bucket: BUCKET,
    key,
    maxBytes: 64 * MiB,
    s3,
    partSizeBytes: PART_SIZE,
    retryDelayMs: 0,
    ...overrides,
  };
}

async function storedBytes(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await (object.Body as Readable & { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'NotFound') return false;
    throw error;
  }
}

async function expectNoObject(key: string): Promise<void> {
  expect(await objectExists(key)).toBe(false);
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  expect(listing.Contents ?? []).toEqual([]);
}

/** Multipart uploads s3rver still holds parts for (it keeps them under ._S3rver_uploads). */
async function pendingUploads(): Promise<string[]> {
  return readdir(join(dataDir, BUCKET, '._S3rver_uploads')).catch(() => []);
}

/** Runs the copy and returns what it threw, failing the test if it did not throw. */
async function copyError(request: VideoCopyRequest): Promise<Error> {
  const error = await copyVideoToS3(request).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('copyVideoToS3', () => {
  it('stores byte-identical video with its size, sha256 and content type', async () => {
    const video = fakeMp4(11 * MiB + 12_345);
    const { url, key, seen } = serve(serveBytes(video));

    const copied = await copyVideoToS3(copyRequest(url, key));

    expect(copied).toEqual({
      bucket: BUCKET,
      key,
      s3_uri: `s3://${BUCKET}/${key}`,
      size_bytes: video.length,
      sha256: sha256(video),
      content_type: 'video/mp4',
    });
    expect(seen).toHaveLength(1);
    const stored = await storedBytes(key);
    expect(stored.length).toBe(video.length);
    expect(sha256(stored)).toBe(sha256(video));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentType).toBe('video/mp4');
  }, 60_000);

  it('stores a small video in a single request with the container type sniffed from an octet-stream', async () => {
    const mov = Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('wide', 'latin1'), randomBytes(100_000)]);
    const { url, key } = serve(serveBytes(mov, { contentType: 'application/octet-stream' }));

    const copied = await copyVideoToS3(copyRequest(url, key));

    expect(copied.content_type).toBe('video/quicktime');
    expect(copied.sha256).toBe(sha256(mov));
    expect((await storedBytes(key)).equals(mov)).toBe(true);
  }, 30_000);

  it('resumes with a Range request after the connection drops mid-body and stores identical bytes', async () => {
    const video = fakeMp4(11 * MiB + 777);
    const { url, key, seen } = serve(serveBytes(video, { dropFirstRequestAfter: 7 * MiB }));

    const copied = await copyVideoToS3(copyRequest(url, key));

    expect(seen).toHaveLength(2);
    expect(seen[0]?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(seen[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(7 * MiB);
    expect(seen[1]?.ifRange).toBe(ETAG);
    expect(copied.size_bytes).toBe(video.length);
    expect(copied.sha256).toBe(sha256(video));
    expect(sha256(await storedBytes(key))).toBe(sha256(video));
  }, 60_000);

  it('restarts from the first byte when the server does not offer ranges', async () => {
    const video = fakeMp4(8 * MiB + 99);
    const { url, key, seen } = serve(serveBytes(video, { ranges: 'none', dropFirstRequestAfter: 6 * MiB }));

    const copied = await copyVideoToS3(copyRequest(url, key));

    expect(seen.map((request) => request.range)).toEqual([undefined, undefined]);
    expect(copied.sha256).toBe(sha256(video));
    expect(sha256(await storedBytes(key))).toBe(sha256(video));
  }, 60_000);

  it('starts over when the server answers a Range request with the whole file', async () => {
    const video = fakeMp4(8 * MiB + 5);
    const { url, key, seen } = serve(serveBytes(video, { ranges: 'ignore', dropFirstRequestAfter: 6 * MiB }));

    const copied = await copyVideoToS3(copyRequest(url, key));

    expect(seen).toHaveLength(2);
    expect(seen[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(copied.size_bytes).toBe(video.length);
    expect(sha256(await storedBytes(key))).toBe(sha256(video));
  }, 60_000);

  it('rejects an HTML answer as InvalidVideo without retrying', async () => {
    const page = Buffer.from('<!DOCTYPE html><html><body>AccessDenied</body></html>');
    const { url, key, seen } = serve(serveBytes(page, { contentType: 'text/html; charset=utf-8' }));

    const error = await copyError(copyRequest(url, key));

    expect(error).toBeInstanceOf(InvalidVideo);
    expect(error.message).toContain('text/html');
    expect(seen).toHaveLength(1);
    await expectNoObject(key);
  });

  it('rejects octet-stream bytes that are not a video as InvalidVideo', async () => {
    const notVideo = randomBytes(200_000);
    notVideo.write('PK\u0003\u0004', 0, 'latin1');
    const { url, key } = serve(serveBytes(notVideo, { contentType: 'application/octet-stream' }));

    const error = await copyError(copyRequest(url, key));

    expect(error).toBeInstanceOf(InvalidVideo);
    await expectNoObject(key);
  });

  it('rejects a content-length over maxBytes as InvalidVideo before storing anything', async () => {
    const video = fakeMp4(3 * MiB);
    const { url, key, seen } = serve(serveBytes(video));

    const error = await copyError(copyRequest(url, key, { maxBytes: 2 * MiB }));

    expect(error).toBeInstanceOf(InvalidVideo);
    expect(error.message).toContain(String(3 * MiB));
    expect(seen).toHaveLength(1);
    await expectNoObject(key);
  });

  it('gives up a body that streams past maxBytes as InvalidVideo and leaves no object', async () => {
    const video = fakeMp4(12 * MiB);
    const { url, key } = serve(serveBytes(video, { chunked: true }));

    const error = await copyError(copyRequest(url, key, { maxBytes: 7 * MiB }));

    expect(error).toBeInstanceOf(InvalidVideo);
    expect(error.message).toContain('grew past');
    await expectNoObject(key);
    expect(await pendingUploads()).toEqual([]);
  }, 30_000);

  it('fails with CopyFailed after every attempt answers 503, naming the fault but not the query', async () => {
    const { url, key, seen } = serve((_request, response) => response.writeHead(503).end('busy'));

    const error = await copyError(copyRequest(url, key, { maxFetchAttempts: 3 }));

    expect(error).toBeInstanceOf(CopyFailed);
    expect(seen).toHaveLength(3);
    expect(error.message).toContain('HTTP 503');
    expect(error.message).toContain(new URL(url).pathname);
    expect(error.message).not.toContain('X-Amz-Signature');
    await expectNoObject(key);
  });

  it('fails with CopyFailed and no object when every attempt loses the connection mid-body', async () => {
    const video = fakeMp4(13 * MiB);
    const { url, key, seen } = serve((request, response) => {
      // Every answer, full or resumed, breaks off after 3 MiB: enough to start a multipart upload.
      const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
      const headers = { 'accept-ranges': 'bytes', 'content-type': 'video/mp4', 'content-length': video.length - start };
      response.writeHead(start > 0 ? 206 : 200, {
        ...headers,
        ...(start > 0 ? { 'content-range': `bytes ${start}-${video.length - 1}/${video.length}` } : {}),
      });
      response.write(video.subarray(start, start + 3 * MiB), () => response.socket?.destroy());
    });

    const error = await copyError(copyRequest(url, key, { maxFetchAttempts: 3 }));

    expect(error).toBeInstanceOf(CopyFailed);
    expect(error.message).toContain('connection lost');
    expect(seen.map((request) => request.range)).toEqual([undefined, `bytes=${3 * MiB}-`, `bytes=${6 * MiB}-`]);
    await expectNoObject(key);
    expect(await pendingUploads()).toEqual([]);
  }, 30_000);

  it('stops a stalled download when its stop signal fires, aborting the multipart upload, with CopyFailed', async () => {
    const video = fakeMp4(12 * MiB);
    const { url, key, seen } = serve((_request, response) => {
      // More than a part, then nothing: the copy waits for bytes that never come.
      response.writeHead(200, { 'accept-ranges': 'bytes', 'content-type': 'video/mp4', 'content-length': video.length });
      response.write(video.subarray(0, PART_SIZE + MiB));
    });
    const stop = new AbortController();

    const copying = copyError(copyRequest(url, key, { stop: stop.signal, maxFetchAttempts: 3 }));
    await waitFor(async () => ((await pendingUploads()).length > 0 ? true : undefined), 30_000);
    stop.abort('at the test’s deadline');
    const error = await copying;

    expect(error).toBeInstanceOf(CopyFailed);
    expect(error.message).toMatch(
      new RegExp(`^the copy was stopped at the test’s deadline, after \\d+ of ${video.length} bytes from ${sourceOrigin}/generations/\\d+/video\\.mp4; its upload was aborted$`),
    );
    // Stopped, not retried: the attempts left are the next invocation's.
    expect(seen).toHaveLength(1);
    await expectNoObject(key);
    expect(await pendingUploads()).toEqual([]);
  }, 60_000);

  it('fails with CopyFailed on 404 without retrying', async () => {
    const { url, key, seen } = serve((_request, response) => response.writeHead(404).end('expired'));

    const error = await copyError(copyRequest(url, key, { maxFetchAttempts: 3 }));

    expect(error).toBeInstanceOf(CopyFailed);
    expect(error.message).toContain('HTTP 404');
    expect(error.message).not.toContain('X-Amz-Signature');
    expect(seen).toHaveLength(1);
    await expectNoObject(key);
  });

  it('fails with CopyFailed naming the target when S3 refuses the upload', async () => {
    const video = fakeMp4(12 * MiB);
    const { url, key } = serve(serveBytes(video));

    const error = await copyError(copyRequest(url, key, { bucket: 'no-such-bucket' }));

    expect(error).toBeInstanceOf(CopyFailed);
    expect(error.message).toContain(`s3://no-such-bucket/${key}`);
    expect(error.message).toContain('NoSuchBucket');
  }, 30_000);

  it('fails with CopyFailed before any request when the source URL is not http(s)', async () => {
    const error = await copyError(copyRequest('file:///etc/passwd', 'videos/never.mp4'));

    expect(error).toBeInstanceOf(CopyFailed);
    expect(error.message).toContain('file:');
  });

  it('copies a 64 MiB source generated on the fly, streaming it through', async () => {
    const size = 64 * MiB;
    const { url, key } = serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
      void pipeline(Readable.from(generatedVideo(size)), response).catch(() => response.destroy());
    });
    let expected = createHash('sha256');
    for (const block of generatedVideo(size)) expected = expected.update(block);
    const expectedSha256 = expected.digest('hex');

    const copied = await copyVideoToS3(copyRequest(url, key, { maxBytes: 2 * 1024 * MiB }));

    expect(copied.size_bytes).toBe(size);
    expect(copied.sha256).toBe(expectedSha256);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const stored = createHash('sha256');
    let storedSize = 0;
    for await (const chunk of object.Body as Readable) {
      stored.update(chunk as Buffer);
      storedSize += (chunk as Buffer).length;
    }
    expect(storedSize).toBe(size);
    expect(stored.digest('hex')).toBe(expectedSha256);
  }, 120_000);

  describe('with the client built from the local-mode environment', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('stores byte-identical objects in the local S3', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
      vi.stubEnv('AWS_REGION', 'us-east-1');
      vi.stubEnv('AWS_REQUEST_CHECKSUM_CALCULATION', 'WHEN_REQUIRED');
      vi.stubEnv('AWS_RESPONSE_CHECKSUM_VALIDATION', 'WHEN_REQUIRED');
      const client = createS3Client({ AWS_ENDPOINT_URL_S3: localS3.endpoint, REELHOOK_S3_FORCE_PATH_STYLE: 'true' });
      const video = fakeMp4(6 * MiB + 1);
      const { url, key } = serve(serveBytes(video));

      try {
        await copyVideoToS3(copyRequest(url, key, { s3: client }));
      } finally {
        client.destroy();
      }

      expect((await storedBytes(key)).equals(video)).toBe(true);
    }, 30_000);
  });
});

/** 64 KiB blocks of an AES-CTR keystream (fast, repeatable), the first starting with an ftyp box. */
function* generatedVideo(size: number): Generator<Buffer> {
  const blockSize = 64 * 1024;
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(blockSize);
  for (let offset = 0; offset < size; offset += blockSize) {
    const block = cipher.update(zeros.subarray(0, Math.min(blockSize, size - offset)));
    if (offset === 0) ftypBox().copy(block, 0);
    yield block;
  }
}
