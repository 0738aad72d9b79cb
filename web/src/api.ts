/**
 * The dashboard's only data source: reelhook's public HTTP API on this origin, with the
 * key the user typed in. Errors keep the API's own `{ name, message, details }`.
 */
import type { PublicGeneration } from '#shared/records/record.js';
import type { GenerationHistory } from '#shared/workflow/execution-history.js';

export type Generation = PublicGeneration;
export type { GenerationHistory };

export interface FieldIssue {
  field: string;
  message: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly status: number,
    /** A ValidationError's issues, one per offending field. */
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export interface GenerationPage {
  data: Generation[];
  next_cursor: string | null;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class ReelhookApi {
  constructor(private readonly apiKey: string) {}

  /** The newest `limit` generations, only those with `status` when given (the API filters). */
  listGenerations(limit: number, status?: string): Promise<GenerationPage> {
    const query = new URLSearchParams({ limit: String(limit), ...(status ? { status } : {}) });
    return this.call('GET', `/v2/video/generations?${query.toString()}`);
  }

  createGeneration(body: Record<string, unknown>): Promise<Generation> {
    return this.call('POST', '/v2/video/generations', body);
  }

  /** The record shows the outcome on the next read; the answer's body is not needed. */
  async cancelGeneration(id: string): Promise<void> {
    await this.call('DELETE', `/v2/video/generations/${encodeURIComponent(id)}`);
  }

  /** Retry now, or deliver again; the record shows the attempt on the next read. */
  async redeliverWebhook(id: string): Promise<void> {
    await this.call('POST', `/v2/video/generations/${encodeURIComponent(id)}/redeliver`);
  }

  /** The generation's run as the states it entered, their durations and retries. */
  getHistory(id: string): Promise<GenerationHistory> {
    return this.call('GET', `/v2/video/generations/${encodeURIComponent(id)}/history`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ApiFailure('NetworkError', `the reelhook server did not answer (${(error as Error).message})`, 0);
    }
    const text = await response.text();
    let payload: unknown;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiFailure('InvalidResponse', `${method} ${path} answered ${response.status} with a body that is not JSON`, response.status);
    }
    if (!response.ok) throw failureOf(payload, response.status);
    return payload as T;
  }
}

function failureOf(payload: unknown, status: number): ApiFailure {
  const error = (payload as { error?: { name?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const name = typeof error?.name === 'string' ? error.name : `HTTP ${status}`;
  const message = typeof error?.message === 'string' ? error.message : `the server answered ${status}`;
  return new ApiFailure(name, message, status, name === 'ValidationError' ? issuesOf(error?.details) : []);
}

function issuesOf(details: unknown): FieldIssue[] {
  if (!Array.isArray(details)) return [];
  return details.filter(
    (issue: { field?: unknown; message?: unknown } | null): issue is FieldIssue =>
      typeof issue?.field === 'string' && typeof issue?.message === 'string',
  );
}
