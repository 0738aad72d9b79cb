/**
 * The thread side of service-thread.ts: loads the service module named in workerData,
 * starts it, posts back what it reports (its endpoints), forwards its events, and stops it
 * when asked. A failure to start is posted as the error's name and message, so the main
 * thread can tell, say, a locked data folder from anything else.
 */
import '../outside-lambda.js';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { ErrorDescription, FromThread, RunningService, ServiceModule, ServiceWorkerData, ToThread } from './protocol.js';

const port = parentPort!;
const { entry, options } = workerData as ServiceWorkerData;
const post = (message: FromThread): void => port.postMessage(message);

nameThread(basename(new URL(entry).pathname, '-service.ts'));

try {
  const module = (await import(entry)) as ServiceModule<unknown, unknown>;
  const service = await module.startService(options, (event) => post({ type: 'event', event }));
  port.on('message', (message: ToThread) => {
    if (message.type === 'request') return answer(service, message.id, message.request);
    void service.stop().then(
      () => post({ type: 'stopped' }),
      (error: unknown) => post({ type: 'stopped', error: String(error) }),
    );
  });
  post({ type: 'ready', info: service.info });
} catch (error) {
  post({ type: 'failed', ...describe(error) });
}

function describe(error: unknown): ErrorDescription {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code } = error as NodeJS.ErrnoException;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

function answer(service: RunningService<unknown>, id: number, request: unknown): void {
  if (!service.handle) return post({ type: 'refusal', id, name: 'Error', message: 'this service answers no requests' });
  service.handle(request).then(
    (value) => post({ type: 'answer', id, value }),
    (error: unknown) => post({ type: 'refusal', id, ...describe(error) }),
  );
}

/**
 * Names this thread after its service (`rh-lambda`, `rh-dynamodb`, `rh-http-api`), so that
 * `top -H` and /proc show which loop is busy. Linux only; elsewhere the name stays.
 */
function nameThread(service: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', `rh-${service}`.slice(0, 15));
  } catch {
    // No /proc (macOS, Windows): the thread keeps the runtime's name.
  }
}
