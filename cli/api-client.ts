/** A small client of reelhook's HTTP API, used by `reelhook generate`. */
import type { PublicGeneration } from '#shared/record.js';

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

export class ReelhookClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  createGeneration(body: Record<string, unknown>): Promise<PublicGeneration> {
    return this.call('POST', '/v2/video/generations', body);
  }

  getGeneration(id: string): Promise<PublicGeneration> {
    return this.call('GET', `/v2/video/generations/${encodeURIComponent(id)}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
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
