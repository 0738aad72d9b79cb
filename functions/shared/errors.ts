/**
 * The error taxonomy of reelhook, in one place.
 *
 * Names are part of the external contract (docs/api.md) and are also what the
 * state machine's Retry/Catch match on: infra/ imports these constants, so a name is
 * never typed twice. A handler that fails throws one of these classes; Step Functions
 * sees `error.name` as the error type.
 */

/** Errors answered by the HTTP API, with their status codes. */
export const ApiErrorName = {
  Validation: 'ValidationError',
  Unauthorized: 'Unauthorized',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  PayloadTooLarge: 'PayloadTooLarge',
  UnsupportedMediaType: 'UnsupportedMediaType',
  RateLimited: 'RateLimited',
} as const;
export type ApiErrorName = (typeof ApiErrorName)[keyof typeof ApiErrorName];

/** Errors a generation can end with (the record's `error.name`). */
export const GenerationErrorName = {
  ProviderRejected: 'ProviderRejected',
  ProviderFailed: 'ProviderFailed',
  ProviderUnavailable: 'ProviderUnavailable',
  TimedOut: 'TimedOut',
  Cancelled: 'Cancelled',
  CopyFailed: 'CopyFailed',
  InvalidVideo: 'InvalidVideo',
} as const;
export type GenerationErrorName = (typeof GenerationErrorName)[keyof typeof GenerationErrorName];

/**
 * Errors the state machine retries before giving up. A step throws them for faults
 * that may pass (provider 5xx, resets, truncated downloads); once the Retry is
 * exhausted the Catch records the same name, which is the contract's failure name.
 */
export const RETRYABLE_STEP_ERRORS: readonly GenerationErrorName[] = [
  GenerationErrorName.ProviderUnavailable,
  GenerationErrorName.CopyFailed,
];

/**
 * An event could not be put on EventBridge. Not a generation outcome but a step
 * fault: the steps that publish (submit, record) throw it, and the state machine's
 * Retry runs them again.
 */
export const EVENT_PUBLISH_FAILED = 'EventPublishFailed';

/**
 * A step ran for a record that is not in the table, or that lacks what an earlier step
 * wrote. Not a generation outcome: a bug, which fails the execution loudly.
 */
export const GENERATION_MISSING = 'GenerationMissing';

const HTTP_STATUS: Record<ApiErrorName, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  RateLimited: 429,
};

export interface ReelhookErrorOptions {
  cause?: unknown;
  /** Structured, secret-free context returned to API callers as `error.details`. */
  details?: unknown;
}

/** Base class: `name` is always one of the constants above. */
export class ReelhookError<N extends string = ApiErrorName | GenerationErrorName> extends Error {
  override readonly name: N;
  readonly details: unknown;

  constructor(name: N, message: string, options: ReelhookErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.details = options.details;
  }
}

/** One field-level problem in a request. */
export interface FieldIssue {
  field: string;
  message: string;
}

export class ValidationError extends ReelhookError<'ValidationError'> {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    const first = issues[0];
    const summary = first ? `${first.field}: ${first.message}` : 'invalid request';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(ApiErrorName.Validation, `${summary}${more}`, { details: issues });
    this.issues = issues;
  }
}

export class ApiError extends ReelhookError<ApiErrorName> {
  get statusCode(): number {
    return HTTP_STATUS[this.name];
  }
}

export function httpStatusOf(name: ApiErrorName): number {
  return HTTP_STATUS[name];
}

export class ProviderRejected extends ReelhookError<'ProviderRejected'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.ProviderRejected, message, options);
  }
}
export class ProviderFailed extends ReelhookError<'ProviderFailed'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.ProviderFailed, message, options);
  }
}
export class ProviderUnavailable extends ReelhookError<'ProviderUnavailable'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.ProviderUnavailable, message, options);
  }
}
/**
 * A 429 from the provider: named ProviderUnavailable, so the state machine retries it
 * (docs/api.md counts 429 there), and carrying the provider's Retry-After in seconds.
 */
export class ProviderRateLimited extends ProviderUnavailable {
  readonly retryAfterSeconds: number | null;
  constructor(message: string, retryAfterSeconds: number | null, options?: ReelhookErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
export class TimedOut extends ReelhookError<'TimedOut'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.TimedOut, message, options);
  }
}
export class CopyFailed extends ReelhookError<'CopyFailed'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.CopyFailed, message, options);
  }
}
export class InvalidVideo extends ReelhookError<'InvalidVideo'> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GenerationErrorName.InvalidVideo, message, options);
  }
}

export class EventPublishFailed extends ReelhookError<typeof EVENT_PUBLISH_FAILED> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(EVENT_PUBLISH_FAILED, message, options);
  }
}

export class GenerationMissing extends ReelhookError<typeof GENERATION_MISSING> {
  constructor(message: string, options?: ReelhookErrorOptions) {
    super(GENERATION_MISSING, message, options);
  }
}

const GENERATION_ERROR_NAMES = new Set<string>(Object.values(GenerationErrorName));

export function isGenerationErrorName(name: string): name is GenerationErrorName {
  return GENERATION_ERROR_NAMES.has(name);
}
