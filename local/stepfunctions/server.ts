/**
 * The Step Functions API, as far as reelhook uses it, over loopback HTTP, backed by the
 * local engine. It speaks the AWS JSON 1.0 protocol of `@aws-sdk/client-sfn`, so code
 * written for AWS reaches it unchanged through `AWS_ENDPOINT_URL_SFN`.
 *
 * @example
 * const server = await startLocalSfnServer(engine);
 * process.env.AWS_ENDPOINT_URL_SFN = server.endpoint;
 */
import { randomUUID } from 'node:crypto';
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from '../aws-json-protocol.js';
import { type ExecutionDescription, type ExecutionStatus, type HistoryEvent, type LocalStepFunctions } from './engine.js';
import { LocalSfnError } from './errors.js';

export type LocalSfnServer = AwsJsonServer;

type Request = Record<string, unknown>;
type Operation = (engine: LocalStepFunctions, request: Request) => Record<string, unknown>;

/** The service takes inputs up to 256 KiB; leave room for the JSON around them. */
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** The wire format of dates: epoch seconds. */
const epochSeconds = (date: Date): number => date.getTime() / 1000;

function requiredString(request: Request, field: string): string {
  const value = request[field];
  if (typeof value !== 'string' || value === '') {
    throw new LocalSfnError('ValidationException', `${field} is required`);
  }
  return value;
}

function optionalString(request: Request, field: string): string | undefined {
  const value = request[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new LocalSfnError('ValidationException', `${field} must be a string`);
  return value;
}

function assertKnownStateMachine(engine: LocalStepFunctions, request: Request): void {
  const stateMachineArn = requiredString(request, 'stateMachineArn');
  if (stateMachineArn !== engine.stateMachineArn) {
    throw new LocalSfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
  }
}

function describe(execution: ExecutionDescription): Record<string, unknown> {
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: epochSeconds(execution.startDate),
    ...(execution.stopDate && { stopDate: epochSeconds(execution.stopDate) }),
    input: execution.input,
    inputDetails: { included: true },
    ...(execution.output !== undefined && { output: execution.output, outputDetails: { included: true } }),
    ...(execution.error !== undefined && { error: execution.error }),
    ...(execution.cause !== undefined && { cause: execution.cause }),
  };
}

/**
 * One page of `all` as the service pages lists: maxResults 0–1000 (0 = the default 100),
 * and an opaque nextToken (the offset of the next page) while more remain.
 */
function page<T>(request: Request, all: readonly T[]): { items: T[]; nextToken?: string } {
  const maxResults = request.maxResults ?? 0;
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 0 || maxResults > MAX_PAGE_SIZE) {
    throw new LocalSfnError('ValidationException', `maxResults must be an integer from 0 to ${MAX_PAGE_SIZE}`);
  }
  const nextToken = optionalString(request, 'nextToken');
  const offset = nextToken === undefined ? 0 : Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw new LocalSfnError('InvalidToken', 'Invalid nextToken');
  const end = offset + (maxResults === 0 ? DEFAULT_PAGE_SIZE : maxResults);
  return {
    items: all.slice(offset, end),
    ...(end < all.length && { nextToken: Buffer.from(String(end), 'utf8').toString('base64url') }),
  };
}

function optionalBoolean(request: Request, field: string): boolean | undefined {
  const value = request[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new LocalSfnError('ValidationException', `${field} must be a boolean`);
  return value;
}

/** Detail fields that carry execution data, left out when includeExecutionData is false. */
const EXECUTION_DATA_FIELDS = new Set(['input', 'inputDetails', 'output', 'outputDetails', 'parameters']);

function wireEvent(event: HistoryEvent, includeExecutionData: boolean): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(event)) {
    if (field === 'timestamp') wire.timestamp = epochSeconds(event.timestamp);
    else if (!includeExecutionData && field.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      wire[field] = Object.fromEntries(Object.entries(value).filter(([key]) => !EXECUTION_DATA_FIELDS.has(key)));
    } else wire[field] = value;
  }
  return wire;
}

function listPage(engine: LocalStepFunctions, request: Request): Record<string, unknown> {
  assertKnownStateMachine(engine, request);
  const statusFilter = optionalString(request, 'statusFilter');
  if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter as ExecutionStatus)) {
    throw new LocalSfnError('ValidationException', `Unknown statusFilter: ${statusFilter}`);
  }
  const { items, nextToken } = page(request, engine.listExecutions(statusFilter as ExecutionStatus | undefined));
  return {
    executions: items.map((execution) => ({
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      ...(execution.stopDate && { stopDate: epochSeconds(execution.stopDate) }),
    })),
    ...(nextToken !== undefined && { nextToken }),
  };
}

/** The one state machine, as DescribeStateMachine and DescribeStateMachineForExecution show it. */
function stateMachineOf(engine: LocalStepFunctions): Record<string, unknown> {
  return {
    stateMachineArn: engine.stateMachineArn,
    name: engine.stateMachineArn.split(':')[6],
    definition: engine.definition,
    roleArn: engine.roleArn,
  };
}

const operations: Record<string, Operation> = {
  StartExecution(engine, request) {
    assertKnownStateMachine(engine, request);
    const { executionArn, startDate } = engine.startExecution(
      optionalString(request, 'name') ?? randomUUID(),
      optionalString(request, 'input') ?? '{}',
    );
    return { executionArn, startDate: epochSeconds(startDate) };
  },
  DescribeExecution(engine, request) {
    return describe(engine.describeExecution(requiredString(request, 'executionArn')));
  },
  StopExecution(engine, request) {
    const { stopDate } = engine.stopExecution(
      requiredString(request, 'executionArn'),
      optionalString(request, 'error'),
      optionalString(request, 'cause'),
    );
    return { stopDate: epochSeconds(stopDate) };
  },
  ListExecutions: listPage,
  ListStateMachines(engine, request) {
    const { items, nextToken } = page(request, [engine]);
    return {
      stateMachines: items.map((machine) => ({
        stateMachineArn: machine.stateMachineArn,
        name: machine.stateMachineArn.split(':')[6],
        type: 'STANDARD',
        creationDate: epochSeconds(machine.creationDate),
      })),
      ...(nextToken !== undefined && { nextToken }),
    };
  },
  DescribeStateMachine(engine, request) {
    assertKnownStateMachine(engine, request);
    return {
      ...stateMachineOf(engine),
      status: 'ACTIVE',
      type: 'STANDARD',
      creationDate: epochSeconds(engine.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  },
  DescribeStateMachineForExecution(engine, request) {
    engine.describeExecution(requiredString(request, 'executionArn'));
    return {
      ...stateMachineOf(engine),
      updateDate: epochSeconds(engine.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  },
  GetExecutionHistory(engine, request) {
    const events = engine.executionHistory(requiredString(request, 'executionArn'));
    if (optionalBoolean(request, 'reverseOrder') === true) events.reverse();
    const includeExecutionData = optionalBoolean(request, 'includeExecutionData') ?? true;
    const { items, nextToken } = page(request, events);
    return { events: items.map((event) => wireEvent(event, includeExecutionData)), ...(nextToken !== undefined && { nextToken }) };
  },
  SendTaskSuccess(engine, request) {
    const output = requiredString(request, 'output');
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new LocalSfnError('InvalidOutput', 'output is not valid JSON');
    }
    engine.taskTokens.succeed(requiredString(request, 'taskToken'), parsed);
    return {};
  },
  SendTaskFailure(engine, request) {
    engine.taskTokens.fail(requiredString(request, 'taskToken'), optionalString(request, 'error'), optionalString(request, 'cause'));
    return {};
  },
  SendTaskHeartbeat(engine, request) {
    engine.taskTokens.heartbeat(requiredString(request, 'taskToken'));
    return {};
  },
};

export function startLocalSfnServer(engine: LocalStepFunctions, options: { port?: number } = {}): Promise<LocalSfnServer> {
  return startAwsJsonServer(
    {
      protocolVersion: '1.0',
      targetPrefix: 'AWSStepFunctions',
      operations: Object.fromEntries(Object.entries(operations).map(([name, operation]) => [name, (request: Request) => operation(engine, request)])),
      maxBodyBytes: MAX_BODY_BYTES,
      bodyTooLarge: { type: 'ValidationException', message: 'Request body is too large', statusCode: 400 },
      // The engine's errors are named as the service names them (ExecutionDoesNotExist, …).
      serviceError: (error) => (error instanceof LocalSfnError ? new AwsJsonError(error.name, error.message) : undefined),
      internalError: { type: 'InternalFailure', message: 'Local Step Functions failed to handle the request' },
    },
    options,
  );
}
