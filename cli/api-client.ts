/** A small client of reelhook's HTTP API, used by the CLI's commands (generate, logs, list, get, cancel, redeliver). */
import type { PublicGeneration } from '#shared/records/record.js';
import type { GenerationHistory } from '#shared/workflow/execution-history.js';

export interface GenerationPage {
  data: PublicGeneration[];
  next_cursor: string | null;
}

export class ApiCallError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/**
 * The server's origin from a base URL given with or without the `/v2` that `reelhook dev`
 * prints, and with or without trailing slashes: the client adds `/v2/…` itself.
 */
export function serverOrigin(baseUrl: string): string {
  return baseUrl.trim().replace(/\/+$/, '').replace(/\/v2$/i, '').replace(/\/+$/, '');
}

export class ReelhookClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
  ) {
    this.baseUrl = serverOrigin(baseUrl);
  }

  getGenerationHistory(id: string): Promise<GenerationHistory> {
    return this.call('GET', `/v2/video/generations/${encodeURIComponent(id)}/history`);
  }

  createGeneration(body: Record<string, unknown>): Promise<PublicGeneration> {
    return this.call('POST', '/v2/video/generations', body);
  }

  getGeneration(id: string): Promise<PublicGeneration> {
    return this.call('GET', `/v2/video/generations/${encodeURIComponent(id)}`);
  }

  listGenerations(query: { status?: string; limit?: number }): Promise<GenerationPage> {
    const search = new URLSearchParams();
    if (query.status !== undefined) search.set('status', query.status);
    if (query.limit !== undefined) search.set('limit', String(query.limit));
    const suffix = search.size > 0 ? `?${search.toString()}` : '';
    return this.call('GET', `/v2/video/generations${suffix}`);
  }

  cancelGeneration(id: string): Promise<PublicGeneration> {
    return this.call('DELETE', `/v2/video/generations/${encodeURIComponent(id)}`);
  }

  redeliverWebhook(id: string): Promise<PublicGeneration> {
    return this.call('POST', `/v2/video/generations/${encodeURIComponent(id)}/redeliver`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      // fetch only says "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND, timeout) is in the cause.
      const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
      const reason = (error as Error).name === 'TimeoutError' ? 'no answer within 30 s' : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new Error(`could not reach the reelhook server at ${this.baseUrl} (${reason})`, { cause: error });
    }
    const text = await response.text();
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new ApiCallError('InvalidResponse', `${method} ${path} answered ${response.status} with a non-JSON body`, response.status);
    }
    if (!response.ok) {
      const error = (payload as { error?: { name?: string; message?: string } }).error;
      throw new ApiCallError(error?.name ?? `HTTP${response.status}`, error?.message ?? text.slice(0, 200), response.status);
    }
    return payload as T;
  }
}
