/**
 * The typed client of reelhook's HTTP API (docs/client.md):
 *
 * @example
 * import { Reelhook } from 'reelhook/client';
 * const reelhook = new Reelhook({ baseUrl: process.env.REELHOOK_URL!, apiKey: process.env.REELHOOK_API_KEY! });
 * const accepted = await reelhook.create({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A red fox in snow' });
 * const done = await reelhook.wait(accepted.id, { onProgress: (record) => console.log(record.status) });
 */
import { errorFromResponse, NetworkError, RateLimited, ReelhookError } from './errors.js';
import type { CreateGenerationBody, Generation, GenerationHistory, GenerationPage, GenerationStatus } from './types.js';

export {
  Conflict,
  NetworkError,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  ReelhookError,
  Unauthorized,
  UnsupportedMediaType,
  ValidationError,
  type FieldIssue,
  type ReelhookErrorOptions,
} from './errors.js';
export type * from './types.js';
export { verifyWebhook, WebhookVerificationError, type WebhookHeaders, type WebhookVerificationFailure } from './webhooks.js';

export interface ReelhookOptions {
  /** The server's base URL, with or without `/v2` (e.g. `http://127.0.0.1:8787/v2`, as `reelhook dev` prints it). */
  baseUrl: string;
  /** An API key (`rk_…`). */
  apiKey: string;
  /** A fetch implementation; default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * How long one request may take before it fails with a NetworkError.
   * @default 30000
   */
  timeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends RequestOptions {
  /** The same key with the same body within 24 h answers the same generation; with another body, Conflict. */
  idempotencyKey?: string;
}

export interface ListParams extends RequestOptions {
  status?: GenerationStatus;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

export interface WaitOptions extends RequestOptions {
  /** Called with the first record read and with each one that differs from the one before. */
  onProgress?: (generation: Generation) => void;
  /**
   * Time between two reads.
   * @default 1000
   */
  pollIntervalMs?: number;
}

const isFinished = (generation: Generation): boolean => generation.status === 'completed' || generation.status === 'error';

/** What a progress callback compares: the download URL is presigned anew on every read, so it is left out. */
const progressKey = (generation: Generation): string =>
  JSON.stringify({ ...generation, video: generation.video && { ...generation.video, url: null } });

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class Reelhook {
  private readonly origin: string;
  private readonly apiKey: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: ReelhookOptions) {
    // The client adds `/v2/…` itself, so a base URL ending in /v2 or slashes means the same server.
    this.origin = options.baseUrl.trim().replace(/\/+$/, '').replace(/\/v2$/i, '').replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+/i.test(this.origin)) throw new TypeError('baseUrl must be an http or https URL');
    if (!options.apiKey) throw new TypeError('apiKey is required');
    this.apiKey = options.apiKey;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Starts a generation; it answers `queued`. */
  create(body: CreateGenerationBody, options: CreateOptions = {}): Promise<Generation> {
    const headers = options.idempotencyKey === undefined ? undefined : { 'idempotency-key': options.idempotencyKey };
    return this.request('POST', '/v2/video/generations', { body, headers, signal: options.signal });
  }

  get(id: string, options: RequestOptions = {}): Promise<Generation> {
    return this.request('GET', `/v2/video/generations/${encodeURIComponent(id)}`, { signal: options.signal });
  }

  /** One page of your generations, newest first. */
  list(params: ListParams = {}): Promise<GenerationPage> {
    const query = new URLSearchParams();
    if (params.status !== undefined) query.set('status', params.status);
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    if (params.cursor !== undefined) query.set('cursor', params.cursor);
    const search = query.size > 0 ? `?${query.toString()}` : '';
    return this.request('GET', `/v2/video/generations${search}`, { signal: params.signal });
  }

  /**
   * Every generation matching `params`, newest first, across all pages (`limit` is the page size).
   * @example
   * for await (const generation of reelhook.listAll({ status: 'completed' })) console.log(generation.id);
   */
  async *listAll(params: Omit<ListParams, 'cursor'> = {}): AsyncGenerator<Generation, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...params, cursor });
      yield* page.data;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** Cancels a generation that has not finished: it ends `error` with error name `Cancelled`. Conflict when it had finished. */
  cancel(id: string, options: RequestOptions = {}): Promise<Generation> {
    return this.request('DELETE', `/v2/video/generations/${encodeURIComponent(id)}`, { signal: options.signal });
  }

  /** Sends the webhook again, or, while its delivery is pending, makes the next attempt now. */
  redeliver(id: string, options: RequestOptions = {}): Promise<Generation> {
    return this.request('POST', `/v2/video/generations/${encodeURIComponent(id)}/redeliver`, { signal: options.signal });
  }

  /** The generation's run, state by state: when each was entered, how long it took, its retries and their errors. */
  history(id: string, options: RequestOptions = {}): Promise<GenerationHistory> {
    return this.request('GET', `/v2/video/generations/${encodeURIComponent(id)}/history`, { signal: options.signal });
  }

  /**
   * Reads the generation until it is `completed` or `error`, and resolves with that record
   * (a failed generation resolves too: look at `status` and `error`). A RateLimited answer
   * waits its Retry-After; other errors, and an aborted `signal`, reject.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Generation> {
    const interval = options.pollIntervalMs ?? 1000;
    let lastKey: string | undefined;
    for (;;) {
      let generation: Generation;
      try {
        generation = await this.get(id, { signal: options.signal });
      } catch (error) {
        if (!(error instanceof RateLimited)) throw error;
        await sleep(Math.max(interval, (error.retryAfterSeconds ?? 1) * 1000), options.signal);
        continue;
      }
      const key = progressKey(generation);
      if (key !== lastKey) {
        lastKey = key;
        options.onProgress?.(generation);
      }
      if (isFinished(generation)) return generation;
      await sleep(interval, options.signal);
    }
  }

  private async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal | undefined },
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.origin}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          accept: 'application/json',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      // The caller's own abort stays an abort; everything else never got an answer.
      if (options.signal?.aborted) throw options.signal.reason as Error;
      const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new NetworkError(`could not reach the reelhook server at ${this.origin} (${reason}): ${method} ${path.split('?')[0]}`, { cause: error });
    }
    if (!response.ok) throw errorFromResponse(response.status, response.headers, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ReelhookError(`${method} ${path.split('?')[0]} answered ${response.status} with a body that is not JSON`, {
        status: response.status,
        name: 'InvalidResponse',
      });
    }
  }
}
