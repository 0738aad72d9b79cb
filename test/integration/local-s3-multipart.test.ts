/**
 * The local S3 stand-in's multipart uploads (local/s3-multipart.ts), through the AWS SDK
 * over loopback: parts written in place or kept apart, completed objects byte-identical
 * whatever order and sizes the parts came in, and S3's errors for what S3 refuses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendPayloadsUnsigned } from '#shared/video/parted-upload.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../local/s3.js';

const MiB = 1024 * 1024;
const BUCKET = 'multipart-test';

let dataDir: string;
let localS3: LocalS3;
let s3: S3Client;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-s3-multipart-'));
  localS3 = await startLocalS3({ directory: dataDir, buckets: [BUCKET] });
  s3 = new S3Client(localS3ClientConfig(localS3.endpoint));
});

afterAll(async () => {
  s3.destroy();
  await localS3.close();
  await rm(dataDir, { recursive: true, force: true });
});

const md5Hex = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

async function readObject(key: string): Promise<Buffer> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

async function startUpload(key: string): Promise<string> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'video/mp4' }));
  return UploadId!;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, contentMd5?: string) {
  const { ETag } = await s3.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentMD5: contentMd5 }),
  );
  return { PartNumber: partNumber, ETag: ETag! };
}

async function complete(key: string, uploadId: string, parts: Array<{ PartNumber: number; ETag: string }>) {
  return s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
}

/** The object's ETag as S3 computes it for a multipart upload: MD5 of the parts' tags, then -N. */
function multipartEtag(partEtags: string[]): string {
  const digests = Buffer.concat(partEtags.map((etag) => Buffer.from(etag.replaceAll('"', ''), 'hex')));
  return `"${md5Hex(digests)}-${partEtags.length}"`;
}

describe('multipart uploads into the local S3 stand-in', () => {
  it('stores what lib-storage uploads in parallel parts, byte for byte, with a multipart ETag', async () => {
    const data = randomBytes(23 * MiB);
    const client = sendPayloadsUnsigned(new S3Client(localS3ClientConfig(localS3.endpoint)));
    await new Upload({ client, params: { Bucket: BUCKET, Key: 'lib-storage.mp4', Body: data, ContentType: 'video/mp4' }, partSize: 8 * MiB, queueSize: 3 }).done();
    client.destroy();

    expect((await readObject('lib-storage.mp4')).equals(data)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lib-storage.mp4' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ContentType).toBe('video/mp4');
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
  });

  it('assembles parts that arrive before part 1 and out of order', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(2 * MiB)];
    const uploadId = await startUpload('out-of-order.mp4');
    const third = await uploadPart('out-of-order.mp4', uploadId, 3, parts[2]!);
    const second = await uploadPart('out-of-order.mp4', uploadId, 2, parts[1]!);
    const first = await uploadPart('out-of-order.mp4', uploadId, 1, parts[0]!);

    const result = await complete('out-of-order.mp4', uploadId, [first, second, third]);

    expect((await readObject('out-of-order.mp4')).equals(Buffer.concat(parts))).toBe(true);
    expect(result.ETag).toBe(multipartEtag([first.ETag, second.ETag, third.ETag]));
  });

  it('assembles parts of different sizes, and a part sent twice counts as its last version', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(6 * MiB), randomBytes(MiB)];
    const uploadId = await startUpload('uneven.mp4');
    const first = await uploadPart('uneven.mp4', uploadId, 1, parts[0]!);
    await uploadPart('uneven.mp4', uploadId, 2, randomBytes(5 * MiB));
    const second = await uploadPart('uneven.mp4', uploadId, 2, parts[1]!);
    const third = await uploadPart('uneven.mp4', uploadId, 3, parts[2]!);

    await complete('uneven.mp4', uploadId, [first, second, third]);

    expect((await readObject('uneven.mp4')).equals(Buffer.concat(parts))).toBe(true);
  });

  it('completes with a subset of the uploaded parts, leaving the others out', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB)];
    const uploadId = await startUpload('subset.mp4');
    const first = await uploadPart('subset.mp4', uploadId, 1, parts[0]!);
    await uploadPart('subset.mp4', uploadId, 2, parts[1]!);
    const third = await uploadPart('subset.mp4', uploadId, 3, parts[2]!);

    await complete('subset.mp4', uploadId, [first, third]);

    expect((await readObject('subset.mp4')).equals(Buffer.concat([parts[0]!, parts[2]!]))).toBe(true);
  });

  it('checks Content-MD5 when sent, and then tags the part with its MD5', async () => {
    const body = randomBytes(MiB);
    const uploadId = await startUpload('digest.mp4');
    const good = await uploadPart('digest.mp4', uploadId, 1, body, createHash('md5').update(body).digest('base64'));
    expect(good.ETag).toBe(`"${md5Hex(body)}"`);

    const wrongDigest = createHash('md5').update('something else').digest('base64');
    await expect(uploadPart('digest.mp4', uploadId, 2, body, wrongDigest)).rejects.toMatchObject({ name: 'BadDigest' });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'digest.mp4', UploadId: uploadId }));
  });

  it('refuses what S3 refuses: unknown uploads, part numbers and parts, wrong ETags, parts out of order, small parts before the last', async () => {
    await expect(uploadPart('refused.mp4', 'ffffffffffffffffffffffffffffffff', 1, randomBytes(16))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });

    const uploadId = await startUpload('refused.mp4');
    await expect(uploadPart('refused.mp4', uploadId, 10_001, randomBytes(16))).rejects.toMatchObject({ name: 'InvalidArgument' });
    const first = await uploadPart('refused.mp4', uploadId, 1, randomBytes(5 * MiB));
    const second = await uploadPart('refused.mp4', uploadId, 2, randomBytes(MiB));
    const third = await uploadPart('refused.mp4', uploadId, 3, randomBytes(MiB));

    await expect(complete('refused.mp4', uploadId, [first, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }])).rejects.toMatchObject({
      name: 'InvalidPart',
    });
    await expect(complete('refused.mp4', uploadId, [first, { PartNumber: 4, ETag: second.ETag }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(complete('refused.mp4', uploadId, [second, first])).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(complete('refused.mp4', uploadId, [first, second, third])).rejects.toMatchObject({ name: 'EntityTooSmall' });

    // Refusals leave the upload as it was: it still completes, and then it is gone.
    await complete('refused.mp4', uploadId, [first, second]);
    const uploads = await readdir(join(dataDir, BUCKET, '._S3rver_uploads'));
    expect(uploads).not.toContain(uploadId);
  });
});
