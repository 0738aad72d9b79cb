/**
 * PartedUpload's logic against a recording stand-in for the S3 client: where parts
 * begin and end, how many are in flight, which buffers are reused, and what happens on
 * each kind of failure. The same class runs against the local S3 stand-in in
 * test/integration/video-copy.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import { PartedUpload } from '#shared/video/parted-upload.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

/** Records every command; parts resolve when `release` is called (or at once when `autoRelease`). */
class FakeS3 {
  readonly sent: SentCommand[] = [];
  readonly bodies = new Map<number, Buffer>();
  inFlight = 0;
  maxInFlight = 0;
  autoRelease = true;
  failPart: number | undefined;
  failComplete = false;
  readonly #waiting: Array<() => void> = [];
  /** The SDK's checksum mode; in AWS (the default) S3 answers each part with its CRC32. */
  checksumMode: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' = 'WHEN_REQUIRED';
  readonly config = { requestChecksumCalculation: async () => this.checksumMode };

  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<Record<string, unknown>> {
    const name = command.constructor.name;
    this.sent.push({ name, input: command.input });
    if (name === 'CreateMultipartUploadCommand') return { UploadId: 'upload-1' };
    if (name === 'UploadPartCommand') {
      const partNumber = command.input.PartNumber as number;
      // Copied now: the caller may reuse its buffer once the part settles, as S3 has the bytes by then.
      this.bodies.set(partNumber, Buffer.from(command.input.Body as Uint8Array));
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      if (!this.autoRelease) await new Promise<void>((resolve) => this.#waiting.push(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      this.inFlight -= 1;
      if (partNumber === this.failPart) throw Object.assign(new Error('part refused'), { name: 'InternalError' });
      return { ETag: `"etag-${partNumber}"`, ...(this.checksumMode === 'WHEN_SUPPORTED' && { ChecksumCRC32: `crc-${partNumber}` }) };
    }
    if (name === 'CompleteMultipartUploadCommand' && this.failComplete) throw Object.assign(new Error('no'), { name: 'InvalidPart' });
    return {};
  }

  release(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }

  names(): string[] {
    return this.sent.map((command) => command.name);
  }
}

function uploadTo(fake: FakeS3, queueSize = 2): PartedUpload {
  return new PartedUpload({ s3: fake as unknown as S3Client, bucket: 'videos', key: 'videos/a.mp4', contentType: 'video/mp4', partSizeBytes: PART, queueSize });
}

/** Writes `data` in chunks of `chunkBytes`, as a download delivers it. */
async function writeAll(upload: PartedUpload, data: Buffer, chunkBytes: number): Promise<void> {
  for (let offset = 0; offset < data.length; offset += chunkBytes) await upload.write(data.subarray(offset, offset + chunkBytes));
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('PartedUpload', () => {
  it('stores what fits in one part with a single PutObject', async () => {
    const fake = new FakeS3();
    const upload = uploadTo(fake);
    const data = randomBytes(PART - 1);

    await writeAll(upload, data, 64 * 1024);
    await upload.finish();

    expect(fake.names()).toEqual(['PutObjectCommand']);
    expect(sha256(fake.sent[0]!.input.Body as Uint8Array)).toBe(sha256(data));
    expect(fake.sent[0]!.input.ContentType).toBe('video/mp4');
  });

  it('holds no more memory than a small object needs, not a whole part', async () => {
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      const fake = new FakeS3();
      const upload = new PartedUpload({ s3: fake as unknown as S3Client, bucket: 'videos', key: 'k', contentType: 'video/mp4', partSizeBytes: 8 * MiB, queueSize: 4 });
      await writeAll(upload, randomBytes(MiB), 64 * 1024);
      await upload.finish();

      const allocated = allocations.mock.calls.reduce((sum, [size]) => sum + size, 0);
      expect(allocated).toBeLessThan(2 * MiB);
      expect((fake.sent[0]!.input.Body as Uint8Array).byteLength).toBe(MiB);
    } finally {
      allocations.mockRestore();
    }
  });

  it('splits a stream into full parts and a last one, whatever the chunk boundaries, and completes them in order', async () => {
    const fake = new FakeS3();
    const upload = uploadTo(fake);
    const data = randomBytes(2 * PART + 12_345);

    // Chunks that straddle every part boundary.
    await writeAll(upload, data, 1_000_003);
    await upload.finish();

    expect(fake.names().filter((name) => name === 'UploadPartCommand')).toHaveLength(3);
    expect([1, 2, 3].map((n) => fake.bodies.get(n)!.length)).toEqual([PART, PART, 12_345]);
    expect(sha256(Buffer.concat([1, 2, 3].map((n) => fake.bodies.get(n)!)))).toBe(sha256(data));
    const complete = fake.sent.at(-1)!;
    expect(complete.name).toBe('CompleteMultipartUploadCommand');
    expect(complete.input.MultipartUpload).toEqual({
      Parts: [1, 2, 3].map((n) => expect.objectContaining({ PartNumber: n, ETag: `"etag-${n}"` })),
    });
  });

  it('sends no empty last part when the stream ends on a part boundary', async () => {
    const fake = new FakeS3();
    const upload = uploadTo(fake);

    await writeAll(upload, randomBytes(2 * PART), 64 * 1024);
    await upload.finish();

    expect(fake.names()).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
  });

  it('never has more than queueSize parts in flight, and write waits for room', async () => {
    const fake = new FakeS3();
    fake.autoRelease = false;
    const upload = uploadTo(fake, 2);

    const writing = writeAll(upload, randomBytes(4 * PART), MiB);
    let written = false;
    void writing.then(() => (written = true));
    for (let i = 0; i < 20 && fake.inFlight < 2; i += 1) await new Promise((resolve) => setImmediate(resolve));

    expect(fake.inFlight).toBe(2);
    expect(written).toBe(false);
    while (!written) {
      fake.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const finishing = upload.finish();
    while (fake.inFlight > 0 || !fake.names().includes('CompleteMultipartUploadCommand')) {
      fake.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await finishing;
    expect(fake.maxInFlight).toBe(2);
  });

  it('fails the next write after a part is refused, and abort then removes the multipart upload', async () => {
    const fake = new FakeS3();
    fake.failPart = 1;
    const upload = uploadTo(fake, 1);

    await expect(writeAll(upload, randomBytes(3 * PART), MiB)).rejects.toThrow('part refused');
    await upload.abort();

    expect(fake.names().at(-1)).toBe('AbortMultipartUploadCommand');
    expect(fake.sent.at(-1)!.input).toMatchObject({ Bucket: 'videos', Key: 'videos/a.mp4', UploadId: 'upload-1' });
    expect(fake.names()).not.toContain('CompleteMultipartUploadCommand');
  });

  it('aborts the multipart upload itself when completing it fails', async () => {
    const fake = new FakeS3();
    fake.failComplete = true;
    const upload = uploadTo(fake);

    await writeAll(upload, randomBytes(PART + 1), MiB);
    await expect(upload.finish()).rejects.toMatchObject({ name: 'InvalidPart' });

    expect(fake.names().slice(-2)).toEqual(['CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand']);
  });

  it('declares CRC32 in the default checksum mode and completes with the checksum S3 gave each part', async () => {
    // S3 refuses to complete an upload created with a checksum algorithm unless every part's checksum is listed;
    // the local stand-in neither asks for nor answers them, so only this test covers it.
    const fake = new FakeS3();
    fake.checksumMode = 'WHEN_SUPPORTED';
    const upload = uploadTo(fake);

    await writeAll(upload, randomBytes(2 * PART + 1), MiB);
    await upload.finish();

    expect(fake.sent.find((command) => command.name === 'CreateMultipartUploadCommand')?.input).toMatchObject({ ChecksumAlgorithm: 'CRC32' });
    const complete = fake.sent.find((command) => command.name === 'CompleteMultipartUploadCommand');
    expect(complete?.input.MultipartUpload).toEqual({
      Parts: [1, 2, 3].map((n) => expect.objectContaining({ PartNumber: n, ETag: `"etag-${n}"`, ChecksumCRC32: `crc-${n}` })),
    });
  });

  it('declares no checksum when the SDK sends them only when required', async () => {
    const fake = new FakeS3();
    const upload = uploadTo(fake);

    await writeAll(upload, randomBytes(PART + 1), MiB);
    await upload.finish();

    expect(fake.sent.find((command) => command.name === 'CreateMultipartUploadCommand')?.input).not.toHaveProperty('ChecksumAlgorithm');
  });

  it('refuses parts smaller than S3 allows', () => {
    expect(
      () => new PartedUpload({ s3: new FakeS3() as unknown as S3Client, bucket: 'b', key: 'k', contentType: 'video/mp4', partSizeBytes: MiB, queueSize: 2 }),
    ).toThrow(RangeError);
  });
});
