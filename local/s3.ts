/**
 * The local stand-in for S3: s3rver speaks the S3 REST protocol and keeps objects on
 * disk, so handlers run the same SDK calls locally as in AWS. Where s3rver's multipart
 * uploads differ from S3's, s3-multipart.ts patches it; s3-presigned.ts checks presigned
 * URLs, which s3rver does not.
 *
 * Presigned URLs name the stand-in's host and port, so with a port file the port is a
 * property of the data folder: chosen free on the first start, reused at every start after
 * it, and URLs handed out before a restart keep working until they expire.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { patchS3rverMultipart, type PatchableS3rver } from './s3-multipart.js';
import { checkPresignedUrls } from './s3-presigned.js';

export interface LocalS3 {
  /** http://localhost:PORT */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** Where s3rver keeps buckets and objects; they survive a restart. */
  directory: string;
  /**
   * Keeps the port across restarts: the port it names is reused (an error if another
   * process holds it); when the file is missing, a free port below the ephemeral range is
   * chosen and written to it.
   * Absent: a free port at every start.
   */
  portFile?: string;
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

/** Starts s3rver on 127.0.0.1 (on the port file's port, see LocalS3Options) storing objects under `directory`, creating `buckets` if missing; silent (no request logging). */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const keptPort = options.portFile ? await readKeptPort(options.portFile) : undefined;
  const server = new S3rver({
    address: '127.0.0.1',
    port: keptPort ?? (options.portFile ? await freePortToKeep() : 0),
    directory: options.directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  patchS3rverMultipart(server);
  checkPresignedUrls(server, S3RVER_CREDENTIALS);
  if (keptPort !== undefined && !(await isFree(keptPort))) {
    throw new Error(
      `port ${keptPort} of the local S3 stand-in, kept in ${options.portFile} so that video URLs survive a restart, is used by another process: ` +
        `stop that process, or delete ${options.portFile} to have a new port chosen (video URLs handed out before then stop working)`,
    );
  }
  const { port } = await server.run();
  if (options.portFile && keptPort === undefined) await writeFile(options.portFile, `${JSON.stringify({ port })}\n`);
  return {
    endpoint: `http://localhost:${port}`,
    port,
    close: () => server.close(),
  };
}

/**
 * Ports a kept port is chosen from: below the ephemeral ranges of Linux (32768–60999),
 * macOS and Windows (49152–65535). While the stack is stopped, a port in those ranges can
 * be handed to any process's outgoing connection or `listen(0)`, and the next start could
 * not have it back.
 */
const KEPT_PORTS = { from: 20_000, to: 32_767 } as const;
const KEPT_PORT_TRIES = 50;

/** A free port outside the ephemeral range, or 0 (any free one) when none of the tries is free. */
async function freePortToKeep(): Promise<number> {
  for (let attempt = 0; attempt < KEPT_PORT_TRIES; attempt += 1) {
    const port = KEPT_PORTS.from + Math.floor(Math.random() * (KEPT_PORTS.to - KEPT_PORTS.from + 1));
    if (await isFree(port)) return port;
  }
  return 0;
}

/** Whether 127.0.0.1:port can be listened on (s3rver's run() never settles when its listen fails). */
async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The port kept in `file`, or undefined when there is none yet. */
async function readKeptPort(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let port: unknown;
  try {
    port = (JSON.parse(text) as { port?: unknown } | null)?.port;
  } catch {
    // Named in the error below.
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`${file} does not name a port ({"port": 1 to 65535}); delete it to have a new one chosen`);
  }
  return port;
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
