/**
 * A patch to s3rver 3.7 (the local S3 stand-in, see s3.ts), for two things it does unlike S3:
 *
 * - Multipart uploads write every byte twice. s3rver stores each part in a file of its
 *   own and, on CompleteMultipartUpload, reads them all back into a new object file,
 *   hashing the whole object again, which capped a 1 GiB video copy at about a quarter of
 *   the machine's download speed.
 * - AbortMultipartUpload answers 405 and keeps the uploaded parts on disk, so every
 *   abandoned video copy would leave its parts in the data folder.
 *
 * {@link patchS3rverMultipart} replaces two methods of s3rver's FilesystemStore and puts an
 * AbortMultipartUpload handler before its router. Both are s3rver internals, not its API:
 * the shapes used are typed below, and the package is pinned to an exact version.
 *
 * How parts are kept: each part is written straight to its place in one assembly file
 * (part n at (n − 1) × the size of part 1, the layout every SDK's multipart upload uses),
 * so completing the upload is a rename. Parts that do not fit that layout (one larger
 * than part 1, one sent before part 1) keep a file of their own and are copied in at
 * completion, so any sequence of parts S3 accepts still works.
 *
 * A part's ETag is the MD5 of its bytes when the request sends Content-MD5 (checked, as
 * S3 does, BadDigest when it differs); otherwise it is an opaque random tag, as S3's own
 * are for encrypted objects: hashing every byte once more was most of the stand-in's CPU.
 * As in S3, completion checks each listed part's ETag and order and the 5 MiB minimum of
 * every part but the last, and the object's ETag is the MD5 of the parts' tags followed
 * by `-<number of parts>`; an aborted upload is deleted with all its parts (204).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from '#shared/video/s3-limits.js';

/** A single path segment that cannot climb out of the bucket directory, and s3rver's hex upload ids. */
const SAFE_SEGMENT = /^(?!\.+$)[\w.-]+$/;
const UPLOAD_ID = /^[0-9a-f]+$/;

/** The parts of s3rver's FilesystemStore replaced or used here. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5: string): Promise<void>;
  putPart(bucket: string, uploadId: string, partNumber: string | number, content: IncomingMessage): Promise<{ size: number; md5: string }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: Array<{ number: number; etag: string }>): Promise<{ size: number; md5: string }>;
}

type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;

/** The parts of an s3rver instance (a Koa application) the patch changes. */
export interface PatchableS3rver {
  /** Koa's middleware list, composed when the server starts listening; s3rver's router is last. */
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

// s3rver is CommonJS without type declarations: its error type, loaded with the shape above.
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as S3ErrorConstructor;

/** Installs the patch on a server that is not listening yet (see the opening comment). */
export function patchS3rverMultipart(server: PatchableS3rver): void {
  const uploads = handleMultipartUploads(server.store);
  // s3rver's last middleware is its router; answer AbortMultipartUpload just before it.
  server.middleware.splice(server.middleware.length - 1, 0, abortMultipartUpload(uploads));
}

/** Answers AbortMultipartUpload (DELETE /bucket/key?uploadId=…) as S3 does: 204, the parts deleted. */
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

/** Where a stored part's bytes are. */
interface PartRecord {
  size: number;
  /** The part's ETag (hex). */
  etag: string;
  /** Byte offset in the assembly file, or null when the part has a file of its own. */
  offset: number | null;
}

const ASSEMBLY_FILE = 'assembly';
/** Holds the size of part 1: the stride of the assembly file's layout. */
const STRIDE_FILE = 'stride';

const partFile = (uploadDir: string, partNumber: number) => join(uploadDir, String(partNumber));
const recordFile = (uploadDir: string, partNumber: number) => join(uploadDir, `${partNumber}.part.json`);

/** Creates `file` if missing, never truncating it: parts may be being written into it. */
async function ensureFile(file: string): Promise<void> {
  await (await open(file, constants.O_RDWR | constants.O_CREAT)).close();
}

async function readStride(uploadDir: string): Promise<number | undefined> {
  const text = await readFile(join(uploadDir, STRIDE_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text);
}

async function readRecord(uploadDir: string, partNumber: number): Promise<PartRecord | undefined> {
  const text = await readFile(recordFile(uploadDir, partNumber), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as PartRecord);
}

/**
 * Streams a part's body to `file` from `start`; returns its size and ETag. Fails when the
 * body is not `expectedBytes` long or does not match its Content-MD5.
 */
async function writePart(content: IncomingMessage, file: string, start: number, flags: string, expectedBytes: number | undefined) {
  const contentMd5 = content.headers['content-md5'];
  const output = createWriteStream(file, { flags, start, highWaterMark: 4 * 1024 * 1024 });
  const md5 = contentMd5 === undefined ? undefined : createHash('md5');
  // Straight from the socket to the file unless there is a digest to check.
  if (md5 === undefined) {
    await pipeline(content, output);
  } else {
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(content, hashing, output);
  }
  const size = output.bytesWritten;
  if (expectedBytes !== undefined && size !== expectedBytes) {
    throw new Error(`part body ended after ${size} of ${expectedBytes} bytes`);
  }
  if (md5 === undefined) return { size, etag: randomBytes(16).toString('hex') };
  const digest = md5.digest();
  if (digest.toString('base64') !== contentMd5) return { size, etag: undefined };
  return { size, etag: digest.toString('hex') };
}

/** Copies `length` bytes of `source` from `sourceStart` into `target` at `targetStart`. */
async function copyRange(source: string, sourceStart: number, length: number, target: string, targetStart: number, targetFlags: string) {
  if (length === 0) return;
  await pipeline(
    createReadStream(source, { start: sourceStart, end: sourceStart + length - 1, highWaterMark: 1024 * 1024 }),
    createWriteStream(target, { flags: targetFlags, start: targetStart }),
  );
}

/** What the stand-in adds to s3rver's multipart uploads besides the two store methods. */
interface MultipartUploads {
  /** AbortMultipartUpload: the upload and every part of it deleted; NoSuchUpload if there is none. */
  abort(bucket: string, uploadId: string): Promise<void>;
}

/** Replaces `store`'s putPart and putObjectMultipart with the in-place layout above; returns the abort s3rver lacks. */
function handleMultipartUploads(store: S3rverStore): MultipartUploads {
  const existingUploadDir = async (bucket: string, uploadId: string): Promise<string> => {
    // Both names become path segments: only plain names and s3rver's hex upload ids.
    const uploadDir = SAFE_SEGMENT.test(bucket) && UPLOAD_ID.test(uploadId)
      ? join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId)
      : undefined;
    const isUpload = uploadDir !== undefined && (await stat(join(uploadDir, 'key')).then(() => true, () => false));
    if (uploadDir === undefined || !isUpload) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    return uploadDir;
  };

  store.putPart = async (bucket, uploadId, partNumberText, content) => {
    const uploadDir = await existingUploadDir(bucket, uploadId);
    const partNumber = Number(partNumberText);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > S3_MAX_PARTS) {
      throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${S3_MAX_PARTS}, inclusive`, {
        ArgumentName: 'partNumber',
        ArgumentValue: String(partNumberText),
      });
    }
    const declared = content.headers['content-length'];
    const expectedBytes = declared === undefined ? undefined : Number(declared);
    // A part sent again replaces the earlier one; until it is whole, the part is missing
    // (completion then fails with InvalidPart) rather than half old and half new.
    await rm(recordFile(uploadDir, partNumber), { force: true });

    const assembly = join(uploadDir, ASSEMBLY_FILE);
    // The first part 1 fixes the layout; one sent again later never moves the other parts.
    let stride = await readStride(uploadDir);
    if (stride === undefined && partNumber === 1 && expectedBytes !== undefined) {
      stride = expectedBytes;
      await writeFile(join(uploadDir, STRIDE_FILE), String(stride));
    }
    let offset: number | null = null;
    let written: Awaited<ReturnType<typeof writePart>>;
    if (stride !== undefined && expectedBytes !== undefined && expectedBytes <= stride) {
      offset = (partNumber - 1) * stride;
      await ensureFile(assembly);
      written = await writePart(content, assembly, offset, 'r+', expectedBytes);
    } else {
      written = await writePart(content, partFile(uploadDir, partNumber), 0, 'w', expectedBytes);
    }
    if (written.etag === undefined) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const record: PartRecord = { size: written.size, etag: written.etag, offset };
    await writeFile(recordFile(uploadDir, partNumber), JSON.stringify(record));
    return { size: record.size, md5: record.etag };
  };

  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const uploadDir = await existingUploadDir(bucket, uploadId);
    const [key, metadata] = await Promise.all([
      readFile(join(uploadDir, 'key'), 'utf8'),
      readFile(join(uploadDir, 'metadata'), 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>),
    ]);

    if (parts.some((part, index) => index > 0 && part.number <= (parts[index - 1]?.number ?? 0))) {
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: uploadId });
    }
    const records: PartRecord[] = [];
    for (const [index, part] of parts.entries()) {
      const record = await readRecord(uploadDir, part.number);
      if (record === undefined || record.etag !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
          { UploadId: uploadId, PartNumber: String(part.number), ETag: part.etag },
        );
      }
      if (index < parts.length - 1 && record.size < S3_MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          PartNumber: String(part.number),
          ProposedSize: String(record.size),
          MinSizeAllowed: String(S3_MIN_PART_BYTES),
        });
      }
      records.push(record);
    }

    const objectFile = await assemble(uploadDir, parts.map((part) => part.number), records);
    const objectPath = store.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    await rename(objectFile, objectPath);
    const partDigests = Buffer.concat(records.map((record) => Buffer.from(record.etag, 'hex')));
    const etag = `${createHash('md5').update(partDigests).digest('hex')}-${records.length}`;
    await store.putMetadata(bucket, key, metadata, etag);
    await rm(uploadDir, { recursive: true, force: true });
    return { size: records.reduce((sum, record) => sum + record.size, 0), md5: etag };
  };

  return {
    async abort(bucket, uploadId) {
      await rm(await existingUploadDir(bucket, uploadId), { recursive: true, force: true });
    },
  };
}

/**
 * The object file for the listed parts: the assembly file itself when the parts are 1…K
 * at the stride (the few that arrived out of layout copied into place), else a new file
 * the parts are copied into one after the other.
 */
async function assemble(uploadDir: string, numbers: number[], records: PartRecord[]): Promise<string> {
  const assembly = join(uploadDir, ASSEMBLY_FILE);
  const stride = await readStride(uploadDir);
  const last = records.length - 1;
  const inLayout =
    stride !== undefined &&
    numbers.every((number, index) => number === index + 1) &&
    records.every((record, index) => (index < last ? record.size === stride : record.size <= stride));
  const source = (record: PartRecord, number: number) =>
    record.offset === null ? { file: partFile(uploadDir, number), start: 0 } : { file: assembly, start: record.offset };

  if (inLayout) {
    await ensureFile(assembly);
    for (const [index, record] of records.entries()) {
      const target = index * stride;
      if (record.offset === target) continue;
      const from = source(record, numbers[index] ?? 0);
      await copyRange(from.file, from.start, record.size, assembly, target, 'r+');
    }
    const handle = await open(assembly, 'r+');
    await handle.truncate(last * stride + (records[last]?.size ?? 0));
    await handle.close();
    return assembly;
  }

  const object = join(uploadDir, 'object');
  await writeFile(object, '');
  let position = 0;
  for (const [index, record] of records.entries()) {
    const from = source(record, numbers[index] ?? 0);
    await copyRange(from.file, from.start, record.size, object, position, 'r+');
    position += record.size;
  }
  return object;
}
