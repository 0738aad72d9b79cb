/** Loading a function's handler from its source, to run in this process as Lambda runs it. */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LambdaHandler, withLambdaTimeout } from './stepfunctions/lambda-timeout.js';
import type { LocalFunction } from './template/manifest.js';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** Runs a handler the way Lambda does: JSON in, JSON out, nothing shared by reference, ended at the function's timeout. */
export async function importHandler(fn: LocalFunction): Promise<(payload: unknown) => Promise<unknown>> {
  const module = (await import(pathToFileURL(join(REPO_ROOT, fn.entry)).href)) as { handler?: LambdaHandler };
  const handler = module.handler;
  if (typeof handler !== 'function') throw new Error(`${fn.entry} does not export a handler`);
  const invoke = withLambdaTimeout(handler, { name: fn.logicalId, arn: fn.arn, timeoutSeconds: fn.timeoutSeconds, memoryMb: fn.memoryMb });
  return async (payload) => {
    const result = await invoke(JSON.parse(JSON.stringify(payload ?? null)));
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
  };
}
