import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { handleMultipartUploads, type MultipartUploads, type S3rverStore } from './s3-multipart.js';

/**
 * The local stand-in for S3: s3rver speaks the S3 REST protocol and keeps objects on
 * disk, so handlers run the same SDK calls locally as in AWS.
 */

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

/** The parts of s3rver's untyped API (a Koa application) used here. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** Koa's middleware list, composed when the server starts listening. */
  middleware: KoaMiddleware[];
  store: S3rverStore;
}
interface KoaContext {
  method: string;
  /** The path-style path (/bucket/key) once s3rver's vhost middleware has run. */
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
}
type KoaMiddleware = (context: KoaContext, next: () => Promise<void>) => Promise<void>;
type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverServer;

// s3rver is CommonJS without type declarations; load it through require with the shapes above.
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;
const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;

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
  const uploads = handleMultipartUploads(server.store, S3Error);
  // s3rver's last middleware is its router; answer AbortMultipartUpload just before it.
  server.middleware.splice(server.middleware.length - 1, 0, abortMultipartUpload(uploads));
  const { port } = await server.run();
  return {
    endpoint: `http://localhost:${port}`,
    port,
    close: () => server.close(),
  };
}

/**
 * s3rver 3.7 answers AbortMultipartUpload with 405 and keeps the uploaded parts on disk.
 * This answers it as S3 does (204, parts deleted), so an abandoned video copy leaves
 * nothing behind locally either.
 */
function abortMultipartUpload(uploads: MultipartUploads): KoaMiddleware {
  return async (context, next) => {
    const { uploadId } = context.query;
    const bucket = /^\/([^/]+)\/./.exec(context.path)?.[1];
    if (context.method !== 'DELETE' || typeof uploadId !== 'string' || bucket === undefined) {
      return next();
    }
    await uploads.abort(bucket, uploadId);
    context.status = 204;
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
