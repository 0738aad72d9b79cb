/**
 * A function's configured timeout, applied to an in-process handler as Lambda applies it:
 * `context.getRemainingTimeInMillis()` counts down from the function's Timeout, and an
 * invocation still running at the deadline fails with Lambda's own error
 * (`Sandbox.Timedout`, "Task timed out after N.00 seconds"), which Step Functions passes
 * to the Task as its Error, with the error document as its Cause.
 *
 * The handler cannot be killed in-process: at the deadline its promise is abandoned, and
 * whatever it still does (a request in flight, a write) may still happen, much as a Lambda
 * frozen at its timeout may finish a request it had sent. Its eventual result or error is
 * ignored.
 *
 * Timeouts are real seconds, never scaled by REELHOOK_WAIT_SCALE: the scale shortens the
 * waits between steps, while a handler's own work (HTTP calls, a download) runs at full
 * length locally, so a scaled timeout would cut off steps that pass in AWS.
 *
 * @example
 * const invoke = withLambdaTimeout(handler, { name: 'copy', arn, timeoutSeconds: 900, memoryMb: 1024 });
 * await invoke(event); // rejects with Sandbox.Timedout after 900 s
 */
import { randomUUID } from 'node:crypto';

export interface LambdaFunctionConfig {
  name: string;
  arn: string;
  timeoutSeconds: number;
  memoryMb: number;
}

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** Lambda's error for an invocation that ran past its timeout (its errorType is the name). */
class LambdaTimedOut extends Error {
  override name = 'Sandbox.Timedout';

  constructor(requestId: string, timeoutSeconds: number) {
    super(`RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
  }
}

/** A context whose remaining time counts down to `deadline` (epoch ms), as Lambda's does. */
function lambdaContext(fn: LambdaFunctionConfig, requestId: string, deadline: number): LambdaContext {
  return {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Invokes `handler` with a fresh context per call, failing the call at the function's timeout. */
export function withLambdaTimeout(handler: LambdaHandler, fn: LambdaFunctionConfig): (event: unknown) => Promise<unknown> {
  return (event) => {
    const requestId = randomUUID();
    const timeoutMs = fn.timeoutSeconds * 1000;
    const context = lambdaContext(fn, requestId, Date.now() + timeoutMs);
    const running = Promise.resolve().then(() => handler(event, context));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new LambdaTimedOut(requestId, fn.timeoutSeconds)), timeoutMs);
      // The deadline alone must not keep a stopping process alive (up to 15 minutes).
      timer.unref();
    });
    // An abandoned invocation's late failure is nobody's to handle.
    running.catch(() => undefined);
    return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
  };
}
