/**
 * The client's errors: one class per error name of the API (docs/api.md, "Errors"), so
 * callers branch with `instanceof`, plus the failures that never got an API answer.
 */
import type { ApiErrorName } from './types.js';

/** One field-level problem of a ValidationError. */
export interface FieldIssue {
  field: string;
  message: string;
}

export interface ReelhookErrorOptions {
  /** The HTTP status of the answer. */
  status: number;
  /** The API's error name; subclasses set their own. */
  name?: string;
  details?: unknown;
}

/** An answer of the API that is not 2xx. `name` is the API's error name (e.g. `NotFound`, `InternalError`). */
export class ReelhookError extends Error {
  override readonly name: string;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The API's `error.details`: context, never a secret; null when it gave none. */
  readonly details: unknown;

  constructor(message: string, options: ReelhookErrorOptions) {
    super(message);
    this.name = options.name ?? 'ReelhookError';
    this.status = options.status;
    this.details = options.details ?? null;
  }
}

/** 400: the message starts with the offending field; `issues` lists every one. */
export class ValidationError extends ReelhookError {
  override readonly name = 'ValidationError';
  readonly issues: FieldIssue[] = Array.isArray(this.details) ? this.details.filter(isFieldIssue) : [];

  /** The first offending field (e.g. `prompt`, `advanced_camera_control.movement_value`). */
  get field(): string | undefined {
    return this.issues[0]?.field;
  }
}

/** 401: no API key, or an unknown or revoked one. */
export class Unauthorized extends ReelhookError {
  override readonly name = 'Unauthorized';
}

/** 404: no such generation for this API key (another key's generations answer the same). */
export class NotFound extends ReelhookError {
  override readonly name = 'NotFound';
}

/** 409: e.g. cancelling a finished generation, or an Idempotency-Key reused with another body. */
export class Conflict extends ReelhookError {
  override readonly name = 'Conflict';
}

/** 413: the body is over 64 KiB. */
export class PayloadTooLarge extends ReelhookError {
  override readonly name = 'PayloadTooLarge';
}

/** 415: the body was not sent as JSON. */
export class UnsupportedMediaType extends ReelhookError {
  override readonly name = 'UnsupportedMediaType';
}

/** 429: too many requests with this API key; retry after `retryAfterSeconds`. */
export class RateLimited extends ReelhookError {
  override readonly name = 'RateLimited';
  /** The answer's Retry-After in seconds; null when it had none. */
  readonly retryAfterSeconds: number | null;

  constructor(message: string, options: ReelhookErrorOptions & { retryAfterSeconds: number | null }) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The request got no answer: the server is unreachable, the connection failed, or it timed out. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

type ErrorClass = new (message: string, options: ReelhookErrorOptions) => ReelhookError;

const CLASSES: Record<Exclude<ApiErrorName, 'RateLimited'>, ErrorClass> = {
  ValidationError,
  Unauthorized,
  NotFound,
  Conflict,
  PayloadTooLarge,
  UnsupportedMediaType,
};

function isFieldIssue(value: unknown): value is FieldIssue {
  const issue = value as Partial<FieldIssue> | null;
  return typeof issue?.field === 'string' && typeof issue.message === 'string';
}

/** Retry-After as seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
function retryAfterSeconds(header: string | null): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The typed error for a non-2xx answer, from its status, headers and body text. */
export function errorFromResponse(status: number, headers: Headers, text: string): ReelhookError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const error = (body as { error?: { name?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const name = typeof error?.name === 'string' ? error.name : `HTTP${status}`;
  const message = typeof error?.message === 'string' ? error.message : `the server answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const details = error?.details ?? null;
  if (name === 'RateLimited') return new RateLimited(message, { status, details, retryAfterSeconds: retryAfterSeconds(headers.get('retry-after')) });
  const known = Object.hasOwn(CLASSES, name) ? CLASSES[name as keyof typeof CLASSES] : ReelhookError;
  return new known(message, { status, name, details });
}
