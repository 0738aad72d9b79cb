/**
 * The HTTP API in a service thread (service-thread.ts): the API gateway stand-in and the
 * API function's handler, so requests are read, authenticated and answered on a loop that
 * the state machine's steps do not share. The handler reads its configuration from the
 * thread's copy of the environment, made when the thread starts.
 */
import { startLocalHttpApi, type HttpApiHandler } from '../api-gateway.js';
import { importHandler } from '../handler-import.js';
import type { LocalFunction } from '../template/manifest.js';
import type { RunningService } from './protocol.js';

export interface HttpApiServiceOptions {
  apiFunction: LocalFunction;
  /** 0 picks a free one. */
  port: number;
  /** Emit each answered request (an ApiRequestRecord) for the live log. */
  reportRequests: boolean;
}

export async function startService(options: HttpApiServiceOptions, emit: (event: unknown) => void): Promise<RunningService<{ url: string }>> {
  const handler = (await importHandler(options.apiFunction)) as HttpApiHandler;
  const api = await startLocalHttpApi(handler, { port: options.port, onRequest: options.reportRequests ? emit : undefined });
  return { info: { url: api.url }, stop: () => api.close() };
}
