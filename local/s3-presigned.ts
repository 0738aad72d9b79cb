/**
 * Presigned URLs on the local S3 stand-in checked as S3 checks them. s3rver 3.7 verifies
 * only Signature V2: a V4 presigned URL (what the SDK makes) passes with any signature, any
 * X-Amz-Expires, or no signature at all. The handlers hand such URLs out as `video.url`,
 * and the URLs now outlive the process that signed them (s3.ts keeps the port), so a
 * tampered or expired one must be refused here, with S3's answers:
 *
 * - no credentials at all: 403 AccessDenied (the bucket is private, as in AWS);
 * - a V4 query signature that does not match: 403 SignatureDoesNotMatch;
 * - past X-Amz-Date + X-Amz-Expires: 403 AccessDenied "Request has expired".
 *
 * Requests signed in the Authorization header (the handlers' own SDK calls) and V2 query
 * signatures are left to s3rver, as before.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The parts of s3rver's Koa context used here. */
interface KoaContext {
  method: string;
  /** The path-style path (/bucket/key) once s3rver's vhost middleware has run, still percent-encoded. */
  path: string;
  querystring: string;
  get(header: string): string;
}
type KoaMiddleware = (context: KoaContext, next: () => Promise<void>) => Promise<void>;

type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;
// s3rver is CommonJS without type declarations: its error type, loaded with the shape above.
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as S3ErrorConstructor;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const REQUIRED = ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;
/** S3's longest presigned lifetime. */
const MAX_EXPIRES_SECONDS = 604_800;

/** Installs the check on an s3rver that is not listening yet, just before its router (its last middleware). */
export function checkPresignedUrls(server: { middleware: unknown[] }, credentials: Credentials): void {
  server.middleware.splice(server.middleware.length - 1, 0, presignedUrlCheck(credentials));
}

function presignedUrlCheck(credentials: Credentials): KoaMiddleware {
  return async (context, next) => {
    const query = new URLSearchParams(context.querystring);
    if (query.has('X-Amz-Algorithm')) verifyQuerySignature(context, query, credentials, new Date());
    // CORS preflights carry no credentials, in S3 too.
    else if (context.method !== 'OPTIONS' && !context.get('authorization') && !query.has('Signature')) throw new S3Error('AccessDenied', 'Access Denied');
    await next();
  };
}

function verifyQuerySignature(context: KoaContext, query: URLSearchParams, credentials: Credentials, now: Date): void {
  const missing = REQUIRED.filter((name) => !query.has(name));
  if (query.get('X-Amz-Algorithm') !== ALGORITHM || missing.length > 0) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      `Query-string authentication version 4 requires X-Amz-Algorithm=${ALGORITHM} and the ${REQUIRED.join(', ')} parameters`,
    );
  }
  const [accessKeyId, ...scopeParts] = (query.get('X-Amz-Credential') ?? '').split('/');
  if (accessKeyId !== credentials.accessKeyId) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId ?? '' });
  }
  const amzDate = query.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  const expires = Number(query.get('X-Amz-Expires'));
  if (signedAt === null || !Number.isInteger(expires) || expires < 0 || expires > MAX_EXPIRES_SECONDS) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Date must be yyyyMMddTHHmmssZ and X-Amz-Expires 0 to 604800 seconds');
  }

  const scope = scopeParts.join('/');
  const signature = presignedSignature(context, query, credentials.secretAccessKey, amzDate, scope);
  const provided = Buffer.from(query.get('X-Amz-Signature') ?? '');
  const expected = Buffer.from(signature);
  // The scope must be this date's S3 scope; a signature over another scope does not match either.
  const scopeValid = scopeParts.length === 4 && scopeParts[0] === amzDate.slice(0, 8) && scopeParts[2] === 's3' && scopeParts[3] === 'aws4_request';
  if (!scopeValid || provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', { AWSAccessKeyId: accessKeyId });
  }
  // Checked once the signature holds, so X-Amz-Date and X-Amz-Expires are the signer's.
  if (now.getTime() > signedAt.getTime() + expires * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', { 'X-Amz-Expires': String(expires), Expires: new Date(signedAt.getTime() + expires * 1000).toISOString() });
  }
}

/** The SigV4 signature of a presigned S3 request, over its path, its query (without the signature) and its signed headers. */
function presignedSignature(context: KoaContext, query: URLSearchParams, secret: string, amzDate: string, scope: string): string {
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  const canonicalQuery = [...query]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`)
    .sort()
    .join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${context.get(name).trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [
    context.method,
    canonicalPath(context.path),
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = scope.split('/').reduce<Buffer | string>((key, part) => hmac(key, part), `AWS4${secret}`);
  return hmac(signingKey, stringToSign).toString('hex');
}

/** S3 signs each path segment encoded once (RFC 3986), whatever encoding the client sent. */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        return encodeRfc3986(decodeURIComponent(segment));
      } catch {
        return segment;
      }
    })
    .join('/');
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** yyyyMMddTHHmmssZ → a Date, or null when it is not that form. */
function parseAmzDate(value: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return null;
  const [year = 0, month = 1, day = 0, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}
