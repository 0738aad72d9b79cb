/**
 * The step functions' handlers in a service thread (service-thread.ts), as the Lambda
 * service runs them: the engine on the main thread invokes one by its ARN with a JSON
 * payload, and gets back its JSON result or its error's name and message, which is all
 * the state machine sees of a failure (lambda-tasks.ts). The handlers' own work (the AWS
 * SDK's signing, HTTP and parsing for every table and bus call) then no longer delays the
 * engine, or the answers of its Step Functions stand-in to the API's StartExecution.
 */
import { importHandler } from '../handler-import.js';
import type { LocalFunction } from '../template/manifest.js';
import type { RunningService } from './protocol.js';

export interface LambdaServiceOptions {
  functions: LocalFunction[];
}

export interface Invocation {
  arn: string;
  payload: unknown;
}

export async function startService(options: LambdaServiceOptions): Promise<RunningService<null>> {
  const handlers = new Map<string, (payload: unknown) => Promise<unknown>>();
  for (const fn of options.functions) handlers.set(fn.arn, await importHandler(fn));
  return {
    info: null,
    handle: async (request) => {
      const { arn, payload } = request as Invocation;
      const handler = handlers.get(arn);
      if (!handler) throw new Error(`no handler for ${arn}`);
      return handler(payload);
    },
    // Running invocations were waited for by the engine's drain; nothing else to end.
    stop: async () => undefined,
  };
}
