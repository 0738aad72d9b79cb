/**
 * The copy step's S3 client signs its uploads without hashing the body again
 * (sendPayloadsUnsigned): what it sends, captured before it leaves the process.
 */
import { PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { sendPayloadsUnsigned } from '#shared/video/parted-upload.js';

/** An S3 client whose requests end at a handler that records their headers and answers 200. */
function capturingClient(): { client: S3Client; headers: Array<Record<string, string>> } {
  const headers: Array<Record<string, string>> = [];
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        headers.push({ ...request.headers });
        return { response: { statusCode: 200, headers: { etag: '"tag"' }, body: undefined } };
      },
    },
  });
  return { client, headers };
}

const part = { Bucket: 'videos', Key: 'videos/a.mp4', UploadId: 'upload', PartNumber: 1, Body: Buffer.alloc(1024, 1) };

describe('sendPayloadsUnsigned', () => {
  it('sends uploaded parts and objects as UNSIGNED-PAYLOAD, still signed', async () => {
    const { client, headers } = capturingClient();
    sendPayloadsUnsigned(client);

    await client.send(new UploadPartCommand(part));
    await client.send(new PutObjectCommand({ Bucket: 'videos', Key: 'videos/b.mp4', Body: Buffer.alloc(16) }));

    for (const sent of headers) {
      expect(sent['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(sent.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\//);
    }
    expect(headers).toHaveLength(2);
  });

  it('changes nothing for a client it was not applied to: the SDK signs the body hash', async () => {
    const { client, headers } = capturingClient();

    await client.send(new UploadPartCommand(part));

    expect(headers[0]?.['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });
});
