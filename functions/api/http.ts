/**
 * HTTP plumbing of the API, independent of API Gateway: a plain request in, a plain
 * response out, and every error in the `{ error: { name, message, details } }` shape.
 */
import { ApiError, ValidationError, httpStatusOf, type ApiErrorName } from '#shared/errors.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The body as API Gateway hands it over: text, or the bytes of one that came base64-encoded. */
  body: string | Uint8Array | null;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const MAX_BODY_BYTES = 64 * 1024;

export function json(statusCode: number, payload: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) };
}

/** An API error that also sets response headers (Retry-After on a 429). */
export class ApiErrorWithHeaders extends ApiError {
  constructor(
    name: ApiErrorName,
    message: string,
    readonly headers: Record<string, string>,
    details?: unknown,
  ) {
    super(name, message, { details });
  }
}

export function errorResponse(error: unknown): ApiResponse | null {
  if (error instanceof ValidationError || error instanceof ApiError) {
    const name = error.name;
    const headers = error instanceof ApiErrorWithHeaders ? error.headers : {};
    return json(httpStatusOf(name), { error: { name, message: error.message, details: error.details ?? null } }, headers);
  }
  return null;
}

export function internalErrorResponse(): ApiResponse {
  return json(500, { error: { name: 'InternalError', message: 'something went wrong on our side; the request may be retried', details: null } });
}

/** Fails on bytes that are not UTF-8; a leading BOM stays (and is not JSON), as before. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The JSON body of a POST: content type, size and syntax checked, in that order. */
export function readJsonBody(request: ApiRequest): unknown {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new ApiError('UnsupportedMediaType', `content-type must be application/json (got ${contentType ? `"${contentType.slice(0, 100)}"` : 'none'})`);
  }
  const body = request.body ?? '';
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (size > MAX_BODY_BYTES) {
    throw new ApiError('PayloadTooLarge', `the body is ${size} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    // Never replaced with U+FFFD: the prompt is kept exactly as sent, or refused.
    throw new ValidationError([{ field: 'body', message: 'must be valid UTF-8' }]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ field: 'body', message: 'must be valid JSON' }]);
  }
}

export function bearerToken(request: ApiRequest): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? null;
}

export const notFound = (what: string): ApiError => new ApiError('NotFound', `${what} was not found`);

export const conflict = (message: string): ApiError => new ApiError('Conflict', message);
