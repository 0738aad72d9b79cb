/**
 * The local stand-in for S3: s3rver speaks the S3 REST protocol and keeps objects on
 * disk, so handlers run the same SDK calls locally as in AWS. Where s3rver's multipart
 * uploads differ from S3's, s3-multipart.ts patches it.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { patchS3rverMultipart, type PatchableS3rver } from './s3-multipart.js';

export interface LocalS3 {
  /** http://localhost:PORT */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** Where s3rver keeps buckets and objects; they survive a restart. */
  directory: string;
  /** 0 or absent: a free port chosen by the system. */
  port?: number;
  /** Created when missing; existing ones keep their objects. */
  buckets: string[];
}

/** The parts of s3rver's untyped API used here. */
interface S3rverServer extends PatchableS3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverServer;

// s3rver is CommonJS without type declarations; load it through require with the shapes above.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** s3rver accepts only this access key pair. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Starts s3rver on 127.0.0.1 (port 0 = random) storing objects under `directory`, creating `buckets` if missing; silent (no request logging). */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  patchS3rverMultipart(server);
  const { port } = await server.run();
  return {
    endpoint: `http://localhost:${port}`,
    port,
    close: () => server.close(),
  };
}

/** Client options for talking to it (credentials S3RVER/S3RVER, region us-east-1, forcePathStyle, checksums WHEN_REQUIRED). */
export function localS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
    // With the SDK's default CRC32 checksums s3rver stores the aws-chunked framing inside
    // streamed objects; asking for checksums only when required keeps objects byte-identical.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}
