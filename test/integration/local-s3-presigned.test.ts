/**
 * The local S3 stand-in's presigned URLs (local/s3.ts, local/s3-presigned.ts): the port
 * kept in its port file, so a URL signed before a restart still opens after it; and S3's
 * checks, so a tampered, expired or unsigned URL gets 403.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../local/s3.js';

const BUCKET = 'presigned-test';
const KEY = 'videos/gen (1).mp4';
const content = randomBytes(64 * 1024);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let dataDir: string;
let portFile: string;
let localS3: LocalS3;

const start = () => startLocalS3({ directory: join(dataDir, 's3'), portFile, buckets: [BUCKET] });

async function presign(signingDate = new Date(), expiresIn = 3600): Promise<string> {
  const s3 = new S3Client(localS3ClientConfig(localS3.endpoint));
  try {
    return await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: KEY }), { expiresIn, signingDate });
  } finally {
    s3.destroy();
  }
}

async function download(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-s3-presigned-'));
  portFile = join(dataDir, 's3-port.json');
  localS3 = await start();
  const s3 = new S3Client(localS3ClientConfig(localS3.endpoint));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: content, ContentType: 'video/mp4' }));
  s3.destroy();
});

afterAll(async () => {
  await localS3?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('keeps the port in the port file, so a URL signed before a restart opens after it', async () => {
  expect(JSON.parse(await readFile(portFile, 'utf8'))).toEqual({ port: localS3.port });
  const url = await presign();
  await localS3.close();
  localS3 = await start();

  expect(new URL(url).port).toBe(String(localS3.port));
  const { status, body } = await download(url);
  expect(status).toBe(200);
  expect(sha256(body)).toBe(sha256(content));
});

it('refuses a URL whose signature, lifetime, key or path was changed', async () => {
  const url = new URL(await presign());
  const tampered = (change: (copy: URL) => void): string => {
    const copy = new URL(url);
    change(copy);
    return copy.href;
  };
  const signature = url.searchParams.get('X-Amz-Signature')!;
  const cases = [
    tampered((copy) => copy.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`)),
    tampered((copy) => copy.searchParams.set('X-Amz-Expires', '604800')),
    tampered((copy) => copy.searchParams.set('X-Amz-Date', '20990101T000000Z')),
    tampered((copy) => (copy.pathname = `/${BUCKET}/videos/other.mp4`)),
    tampered((copy) => copy.searchParams.set('response-content-type', 'text/html')),
  ];
  for (const href of cases) {
    const { status, body } = await download(href);
    expect(status, href).toBe(403);
    expect(body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
  }
});

it('refuses an expired URL and an unsigned one', async () => {
  // Signed two hours ago for one hour: its signature holds, its lifetime is over.
  const expired = await download(await presign(new Date(Date.now() - 2 * 3600_000), 3600));
  expect(expired.status).toBe(403);
  expect(expired.body.toString()).toContain('Request has expired');

  const unsigned = await download(`${localS3.endpoint}/${BUCKET}/${encodeURIComponent('videos')}/${encodeURIComponent('gen (1).mp4')}`);
  expect(unsigned.status).toBe(403);
  expect(unsigned.body.toString()).toContain('<Code>AccessDenied</Code>');
});

it('fails clearly when the kept port is taken, naming the file that keeps it', async () => {
  await localS3.close();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(localS3.port, '127.0.0.1', resolve));
  try {
    await expect(start()).rejects.toThrow(`port ${localS3.port} of the local S3 stand-in, kept in ${portFile}`);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  localS3 = await start();
});

it('names a port file that holds no port', async () => {
  await localS3.close();
  const kept = await readFile(portFile, 'utf8');
  await writeFile(portFile, 'not json');
  await expect(start()).rejects.toThrow(`${portFile} does not name a port`);
  await writeFile(portFile, kept);
  localS3 = await start();
});
