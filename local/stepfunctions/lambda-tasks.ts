/**
 * Runs a definition's Lambda Task states with local handlers, the way AWS Lambda would:
 * the handler receives the JSON the state sends, its result comes back as JSON, and a
 * thrown error reaches the state machine with Error = the error's name and Cause = the
 * JSON document Lambda reports (`{"errorType","errorMessage"}`).
 *
 * The interpreter calls an override per Task state name with the state's effective input
 * (after InputPath and Parameters) and uses the override's return value as the state's
 * result, so each of the two Task forms CDK emits gets its own adapter:
 * - `Resource: <function ARN>` (LambdaInvoke with payloadResponseOnly): the effective
 *   input is the event, and the function's return value is the result;
 * - `Resource: arn:aws:states:::lambda:invoke`: the effective input is the Invoke request
 *   `{ FunctionName, Payload, ... }`, and the result is the Invoke response
 *   `{ ExecutedVersion, Payload, StatusCode }`.
 */
import type { RunOptions } from 'aws-local-stepfunctions';
import { type AslDefinition, forEachState } from './definition.js';
import type { TaskTokens } from './task-tokens.js';

export type LocalTaskHandler = (payload: unknown) => Promise<unknown>;

/** What the interpreter's `taskResourceLocalHandlers` expects per Task state name. */
type InterpreterTaskHandler = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>[string];
type JsonValue = Awaited<ReturnType<InterpreterTaskHandler>>;

const lambdaInvokeIntegration = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const lambdaInvokeWaitIntegration = /^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/;

/**
 * What the engine puts at `$$.Task.Token` (the interpreter has no task tokens): the
 * `.waitForTaskToken` adapter swaps it for a fresh token in the payload it sends.
 */
export const TASK_TOKEN_PLACEHOLDER = 'reelhook-local-task-token-placeholder';

/** What a `.waitForTaskToken` Task needs from its run: the token registry, the run's end, and a hook to stop counting as in flight. */
export interface TaskWaitContext {
  tokens: TaskTokens;
  signal: AbortSignal;
  /** Called with the Invoke response once the Lambda has returned: from then on the Task only waits (a drain need not wait for it). */
  waiting(submitted?: unknown): void;
}

/** A Task override that may wait for a token; plain Tasks ignore the second argument. */
export type LocalTaskOverride = (input: Parameters<InterpreterTaskHandler>[0], wait?: TaskWaitContext) => JsonValue | Promise<JsonValue>;
const lambdaFunctionArn = /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/;

/** An error as the state machine sees a failed Lambda invocation. */
class LambdaInvocationFailure extends Error {
  constructor(errorType: string, errorMessage: string) {
    // Cause is the message; the interpreter reports `message` when `cause` is absent.
    super(JSON.stringify({ errorType, errorMessage }));
    this.name = errorType;
  }
}

/** The name of the function an ARN, partial ARN or plain name designates. */
function functionNameOf(reference: string): string {
  const parts = reference.split(':');
  if (reference.startsWith('arn:')) return parts[6] ?? reference;
  if (parts[1] === 'function') return parts[2] ?? reference;
  return parts[0] ?? reference;
}

/** Finds a handler by exact ARN, else by function name (as Lambda accepts names and qualified ARNs). */
function findHandler(reference: string, handlers: Record<string, LocalTaskHandler>): LocalTaskHandler | undefined {
  if (Object.hasOwn(handlers, reference)) return handlers[reference];
  const name = functionNameOf(reference);
  const sameName = Object.keys(handlers).filter((arn) => functionNameOf(arn) === name);
  return sameName.length === 1 && sameName[0] !== undefined ? handlers[sameName[0]] : undefined;
}

/** Serialises like the Lambda service: the handler gets a JSON copy, and its result is one too. */
async function invokeLikeLambda(handler: LocalTaskHandler, event: unknown): Promise<JsonValue> {
  try {
    const result = await handler(JSON.parse(JSON.stringify(event ?? null)));
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as JsonValue);
  } catch (error) {
    if (error instanceof Error) throw new LambdaInvocationFailure(error.name, error.message);
    throw new LambdaInvocationFailure('Error', String(error));
  }
}

function asInvokeRequest(input: unknown): { FunctionName?: unknown; Payload?: unknown } {
  return typeof input === 'object' && input !== null ? input : {};
}

function lambdaInvokeAdapter(stateName: string, handlers: Record<string, LocalTaskHandler>): InterpreterTaskHandler {
  return async (input) => {
    const request = asInvokeRequest(input);
    const handler = typeof request.FunctionName === 'string' ? findHandler(request.FunctionName, handlers) : undefined;
    if (!handler) {
      throw new LambdaInvocationFailure(
        'Lambda.ResourceNotFoundException',
        `Task state "${stateName}" invokes ${String(request.FunctionName)}, which has no local handler`,
      );
    }
    // An Invoke request without Payload delivers an empty JSON object to the function.
    const payload = await invokeLikeLambda(handler, request.Payload ?? {});
    return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
  };
}

function withToken(value: unknown, token: string): unknown {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((entry) => withToken(entry, token));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, withToken(entry, token)]));
  }
  return value;
}

/** Invokes the function with a fresh token in its payload, then waits for SendTask* with that token. */
function lambdaInvokeWaitAdapter(stateName: string, handlers: Record<string, LocalTaskHandler>): LocalTaskOverride {
  const invoke = lambdaInvokeAdapter(stateName, handlers);
  return async (input, wait) => {
    if (wait === undefined) throw new Error(`Task state "${stateName}" waits for a task token, which only the engine can issue`);
    const { token, result } = wait.tokens.issue(wait.signal);
    // The token is settled only by a later call: until then its rejection is handled here.
    result.catch(() => undefined);
    const response = await invoke(withToken(input, token) as Parameters<InterpreterTaskHandler>[0]);
    wait.waiting(response);
    return (await result) as JsonValue;
  };
}

/**
 * One interpreter override per Task state of the definition (nested ones included).
 * Throws, naming the state, when a Task calls anything but a Lambda function with a
 * handler, so a definition that local mode cannot run fails at start-up.
 */
export function localTaskHandlers(
  definition: AslDefinition,
  handlers: Record<string, LocalTaskHandler>,
): Record<string, LocalTaskOverride> {
  const overrides: Record<string, LocalTaskOverride> = {};
  forEachState(definition, (stateName, state) => {
    if (state.Type !== 'Task') return;
    const resource = String(state.Resource);
    const waits = lambdaInvokeWaitIntegration.test(resource);
    if (lambdaInvokeIntegration.test(resource) || waits) {
      const functionName = state.Parameters?.FunctionName;
      const functionNameFromInput = state.Parameters?.['FunctionName.$'] !== undefined;
      if (typeof functionName === 'string' && !findHandler(functionName, handlers)) {
        throw new Error(`Task state "${stateName}" invokes ${functionName}, which has no local handler`);
      }
      if (typeof functionName !== 'string' && !functionNameFromInput) {
        throw new Error(`Task state "${stateName}" uses ${resource} without Parameters.FunctionName`);
      }
      overrides[stateName] = waits ? lambdaInvokeWaitAdapter(stateName, handlers) : lambdaInvokeAdapter(stateName, handlers);
      return;
    }
    const handler = lambdaFunctionArn.test(resource) ? findHandler(resource, handlers) : undefined;
    if (!handler) throw new Error(`Task state "${stateName}" invokes ${resource}, which has no local handler`);
    overrides[stateName] = (input) => invokeLikeLambda(handler, input);
  });
  return overrides;
}
