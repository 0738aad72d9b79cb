/**
 * A local service on an event loop of its own: a worker thread that runs one service
 * module (host.ts). The HTTP API, dynalite and the step handlers each get one, so that
 * none waits behind the others' work, and the process uses more than one core
 * (docs/performance.md, "How the local stack is arranged").
 *
 * The thread gets a copy of the process environment as it is when the thread starts, as a
 * Lambda function gets its configuration at cold start: start a thread only once the
 * variables its code reads are set.
 *
 * @example
 * const dynamo = await startServiceThread<{ endpoint: string }>(new URL('./dynamodb-service.ts', import.meta.url), { directory });
 * dynamo.info.endpoint; // http://127.0.0.1:…
 * await dynamo.stop();
 */
import { Worker } from 'node:worker_threads';
import type { FromThread, ServiceWorkerData, ToThread } from './protocol.js';

export interface ServiceThread<Info> {
  info: Info;
  /** Asks the service (its `handle`); rejects with an Error of the name and message it failed with. */
  request(request: unknown): Promise<unknown>;
  /** Stops the service, then ends its thread. */
  stop(): Promise<void>;
}

/** A service that could not start, or a request it failed: `name` and `code` are its error's (e.g. `DataFolderLocked`, `EADDRINUSE`). */
export class ServiceError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** How long stop() waits for the service to stop before ending its thread anyway. */
const STOP_TIMEOUT_MS = 15_000;

export async function startServiceThread<Info>(entry: URL, options: unknown, onEvent?: (event: unknown) => void): Promise<ServiceThread<Info>> {
  const workerData: ServiceWorkerData = { entry: entry.href, options };
  const worker = new Worker(new URL('./boot.mjs', import.meta.url), { workerData });
  let stopping = false;
  let ready = false;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let lastId = 0;
  const started = new Promise<Info>((resolve, reject) => {
    worker.on('message', (message: FromThread) => {
      if (message.type === 'answer' || message.type === 'refusal') {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.type === 'answer') waiting?.resolve(message.value);
        else waiting?.reject(new ServiceError(message.name, message.message, message.code));
      } else if (message.type === 'ready') resolve(message.info as Info);
      else if (message.type === 'failed') reject(new ServiceError(message.name, message.message, message.code));
      else if (message.type === 'event') onEvent?.(message.event);
    });
    worker.on('error', (error: Error) => {
      if (stopping) return;
      if (!ready) return reject(error);
      // An uncaught error in a running service ends the process, as it did with the service
      // on the main thread: nothing would be left to answer its requests.
      process.nextTick(() => {
        throw error;
      });
    });
    worker.once('exit', (code) => reject(new Error(`the service thread of ${entry.pathname} exited with code ${code} before it started`)));
  });
  let info: Info;
  try {
    info = await started;
    ready = true;
  } catch (error) {
    stopping = true;
    await worker.terminate();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    const answered = new Promise<void>((resolve) => {
      worker.on('message', (message: FromThread) => {
        if (message.type === 'stopped') resolve();
      });
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ type: 'stop' } satisfies ToThread);
    await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())]);
    // Keep-alive sockets and SDK agents would keep the thread alive: end it once its service has stopped.
    await worker.terminate();
  };
  const request = (body: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (stopping) return reject(new Error(`the service thread of ${entry.pathname} has stopped`));
      lastId += 1;
      pending.set(lastId, { resolve, reject });
      worker.postMessage({ type: 'request', id: lastId, request: body } satisfies ToThread);
    });
  return { info, request, stop: () => (stopped ??= stop()) };
}
