/**
 * Client of the AI/ML API's video endpoints (`POST`/`GET /v2/video/generations`).
 *
 * Every failure is mapped onto the error taxonomy: the provider refusing the request
 * is ProviderRejected (final), anything that may pass (429, 5xx, network, timeouts,
 * garbage answers) is ProviderUnavailable, which the state machine retries. A 429 is
 * first waited out here, as its Retry-After asks, while that fits in a step's budget.
 * Messages never carry the provider key, and URLs in them lose their query strings.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderRateLimited, ProviderRejected, ProviderUnavailable } from '#shared/errors.js';
import { waitScaleFromEnv } from '#shared/polling/bounds.js';
import { redactSecrets, sanitizeMessage } from '#shared/provider/redaction.js';

export interface ProviderClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Limit for each request, answer body included. Default 30000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** 429 answers waited out and retried before ProviderRateLimited is thrown. Default 2. */
  maxRateLimitRetries?: number;
  /**
   * Most provider seconds spent waiting out 429s in one call (default 20, which a step can
   * afford); a longer Retry-After is left to the state machine's retry at once.
   */
  maxRateLimitWaitSeconds?: number;
  /** Factor on those waits (REELHOOK_WAIT_SCALE; default read from the environment, 1 in AWS). */
  waitScale?: number;
}

export interface ProviderJob {
  id: string;
  status: string;
}

export interface ProviderGeneration {
  id: string;
  /** queued | generating | completed | error | any unknown pending value, passed through. */
  status: string;
  video_url: string | null;
  error: { name: string; message: string } | null;
  credits_used: number | null;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RATE_LIMIT_RETRIES = 2;
const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 20;
/** The wait after a 429 that names none. */
const RATE_LIMIT_FALLBACK_SECONDS = 2;
const GENERATIONS_PATH = 'v2/video/generations';
/** Enough of a provider's error text to act on, without echoing a whole HTML error page. */
const MAX_PROVIDER_MESSAGE_CHARS = 500;

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function truncate(text: string): string {
  return text.length > MAX_PROVIDER_MESSAGE_CHARS ? `${text.slice(0, MAX_PROVIDER_MESSAGE_CHARS)}…` : text;
}

/** Retry-After is either delay-seconds or an HTTP date. */
function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The AI/ML API error body is `{message, path, requestId, statusCode, timestamp}`; `message` may be an array. */
function describeProviderError(text: string): { message: string; requestId: string | null } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.trim() === '' ? '(empty body)' : truncate(text.trim()), requestId: null };
  }
  if (!isJsonObject(body)) return { message: truncate(text.trim()), requestId: null };
  const nested = isJsonObject(body.error) ? body.error.message : body.error;
  const raw = body.message ?? nested;
  const message = Array.isArray(raw) ? raw.map(String).join('; ') : typeof raw === 'string' ? raw : text.trim();
  return { message: truncate(message), requestId: typeof body.requestId === 'string' ? body.requestId : null };
}

function describeFetchFailure(error: unknown): string {
  if (!(error instanceof Error)) return `failed: ${String(error)}`;
  const cause: unknown = error.cause;
  const detail = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : null;
  return `failed: ${error.message}${detail ? ` (${detail})` : ''}`;
}

/** Both endpoints answer `{ id, status, ... }`; anything else is a provider fault worth retrying. */
function jobAnswer(body: unknown, where: string): JsonObject & ProviderJob {
  if (!isJsonObject(body) || typeof body.id !== 'string' || body.id === '' || typeof body.status !== 'string') {
    throw new ProviderUnavailable(`AI/ML API ${where} answered without a string id and status`);
  }
  return { ...body, id: body.id, status: body.status };
}

function parseGenerationError(error: unknown): ProviderGeneration['error'] {
  if (typeof error === 'string') return { name: 'Error', message: error };
  if (!isJsonObject(error)) return null;
  return {
    name: typeof error.name === 'string' && error.name !== '' ? error.name : 'Error',
    message: typeof error.message === 'string' ? error.message : JSON.stringify(error.message ?? null),
  };
}

export class ProviderClient {
  readonly #endpoint: URL;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #maxRateLimitRetries: number;
  readonly #maxRateLimitWaitSeconds: number;
  readonly #waitScale: number;

  constructor(options: ProviderClientOptions) {
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    if (!URL.canParse(base)) throw new ProviderUnavailable('the provider base URL is not an absolute URL');
    this.#endpoint = new URL(GENERATIONS_PATH, base);
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? fetch;
    this.#maxRateLimitRetries = options.maxRateLimitRetries ?? DEFAULT_RATE_LIMIT_RETRIES;
    this.#maxRateLimitWaitSeconds = options.maxRateLimitWaitSeconds ?? DEFAULT_RATE_LIMIT_WAIT_SECONDS;
    this.#waitScale = options.waitScale ?? waitScaleFromEnv();
  }

  /** POST {baseUrl}/v2/video/generations with { model, prompt, ...params }. */
  async createGeneration(input: {
    model: string;
    prompt: string;
    params: Record<string, unknown>;
  }): Promise<ProviderJob> {
    // model and prompt last, so a stray params key can never replace them.
    const body = { ...input.params, model: input.model, prompt: input.prompt };
    const { json, where } = await this.#send('POST', new URL(this.#endpoint), body);
    const { id, status } = jobAnswer(json, where);
    return { id, status: this.#redact(status) };
  }

  /** GET {baseUrl}/v2/video/generations?generation_id=ID */
  async getGeneration(providerId: string): Promise<ProviderGeneration> {
    const url = new URL(this.#endpoint);
    url.searchParams.set('generation_id', providerId);
    const { json, where } = await this.#send('GET', url, undefined);
    const answer = jobAnswer(json, where);
    const video = isJsonObject(answer.video) ? answer.video : null;
    const usage = isJsonObject(answer.meta) && isJsonObject(answer.meta.usage) ? answer.meta.usage : null;
    const error = parseGenerationError(answer.error);
    // Everything of the provider's text that is stored or shown goes through the same redaction as our own messages.
    return {
      id: answer.id,
      status: this.#redact(answer.status),
      video_url: typeof video?.url === 'string' ? video.url : null,
      error: error && { name: this.#redact(error.name), message: this.#sanitize(error.message) },
      credits_used: typeof usage?.credits_used === 'number' ? usage.credits_used : null,
    };
  }

  /**
   * One call, with 429s waited out while the retries and the wait budget last. Retrying
   * is safe for the create too: a 429 means the provider did not take the job.
   */
  async #send(method: 'GET' | 'POST', url: URL, body: unknown): Promise<{ json: unknown; where: string }> {
    let waitedSeconds = 0;
    for (let retries = 0; ; retries += 1) {
      try {
        return await this.#sendOnce(method, url, body);
      } catch (error) {
        if (!(error instanceof ProviderRateLimited) || retries >= this.#maxRateLimitRetries) throw error;
        const waitSeconds = error.retryAfterSeconds ?? RATE_LIMIT_FALLBACK_SECONDS;
        if (waitedSeconds + waitSeconds > this.#maxRateLimitWaitSeconds) throw error;
        waitedSeconds += waitSeconds;
        if (this.#waitScale > 0) await sleep(waitSeconds * this.#waitScale * 1000);
      }
    }
  }

  async #sendOnce(method: 'GET' | 'POST', url: URL, body: unknown): Promise<{ json: unknown; where: string }> {
    // origin + pathname: no query string and no userinfo in anything we report.
    const where = `${method} ${url.origin}${url.pathname}`;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';

    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const response = await this.#fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        // A redirect would carry the bearer key somewhere we did not choose.
        redirect: 'error',
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      const what = signal.aborted ? `timed out after ${this.#timeoutMs}ms` : describeFetchFailure(error);
      throw new ProviderUnavailable(this.#sanitize(`AI/ML API ${where} ${what}`));
    }

    if (status === 429) {
      const seconds = parseRetryAfter(retryAfter);
      const { message, requestId } = describeProviderError(text);
      const hint = seconds === null ? '' : `, retry after ${seconds}s`;
      throw new ProviderRateLimited(
        this.#sanitize(`AI/ML API rate limited ${where} (429${hint}): ${message}`),
        seconds,
        {
          details: { statusCode: status, requestId },
        },
      );
    }
    if (status >= 400 && status < 500) {
      const { message, requestId } = describeProviderError(text);
      throw new ProviderRejected(this.#sanitize(`AI/ML API ${rejectionSummary(status)}: ${message}`), {
        details: { statusCode: status, requestId },
      });
    }
    if (status < 200 || status >= 300) {
      const { message } = describeProviderError(text);
      throw new ProviderUnavailable(this.#sanitize(`AI/ML API ${where} answered ${status}: ${message}`), {
        details: { statusCode: status },
      });
    }
    try {
      return { json: JSON.parse(text), where };
    } catch {
      throw new ProviderUnavailable(`AI/ML API ${where} answered ${status} with invalid JSON`);
    }
  }

  /** Removes the key wherever it appears, and any `Bearer <token>` a provider echoes back. */
  #redact(text: string): string {
    return redactSecrets(text, this.#apiKey);
  }

  /** {@link #redact}, and query strings dropped from any URL a message quotes. */
  #sanitize(message: string): string {
    return sanitizeMessage(message, this.#apiKey);
  }
}

function rejectionSummary(status: number): string {
  if (status === 401) return 'did not accept the provider key (401)';
  if (status === 403) return 'refused the request (403): the account is out of credits';
  return `rejected the request (${status})`;
}
