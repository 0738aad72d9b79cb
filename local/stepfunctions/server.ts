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
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ExecutionDescription, type ExecutionStatus, LocalSfnError, type LocalStepFunctions } from './engine.js';

export interface LocalSfnServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  close(): Promise<void>;
}

type Request = Record<string, unknown>;
type Operation = (engine: LocalStepFunctions, request: Request) => Record<string, unknown>;

const TARGET_PREFIX = 'AWSStepFunctions.';
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

function listPage(engine: LocalStepFunctions, request: Request): Record<string, unknown> {
  assertKnownStateMachine(engine, request);
  const statusFilter = optionalString(request, 'statusFilter');
  if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter as ExecutionStatus)) {
    throw new LocalSfnError('ValidationException', `Unknown statusFilter: ${statusFilter}`);
  }
  const maxResults = request.maxResults ?? 0;
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 0 || maxResults > MAX_PAGE_SIZE) {
    throw new LocalSfnError('ValidationException', `maxResults must be an integer from 0 to ${MAX_PAGE_SIZE}`);
  }
  const nextToken = optionalString(request, 'nextToken');
  const offset = nextToken === undefined ? 0 : Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw new LocalSfnError('InvalidToken', 'Invalid nextToken');

  const all = engine.listExecutions(statusFilter as ExecutionStatus | undefined);
  const pageSize = maxResults === 0 ? DEFAULT_PAGE_SIZE : maxResults;
  const end = offset + pageSize;
  return {
    executions: all.slice(offset, end).map((execution) => ({
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      ...(execution.stopDate && { stopDate: epochSeconds(execution.stopDate) }),
    })),
    ...(end < all.length && { nextToken: Buffer.from(String(end), 'utf8').toString('base64url') }),
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
};

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new LocalSfnError('ValidationException', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, statusCode: number, body: Record<string, unknown>): void {
  const payload = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}

async function handle(engine: LocalStepFunctions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const target = request.headers['x-amz-target'];
    const operation =
      request.method === 'POST' && typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? operations[target.slice(TARGET_PREFIX.length)]
        : undefined;
    if (!operation) {
      throw new LocalSfnError('UnknownOperationException', `Unknown operation: ${String(target)}`);
    }
    const body = await readBody(request);
    let parsed: unknown;
    try {
      parsed = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new LocalSfnError('SerializationException', 'Request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new LocalSfnError('SerializationException', 'Request body must be a JSON object');
    }
    send(response, 200, operation(engine, parsed as Request));
  } catch (error) {
    if (error instanceof LocalSfnError) {
      send(response, 400, { __type: error.name, message: error.message });
    } else {
      const message = error instanceof Error ? error.message : 'Local Step Functions failed to handle the request';
      send(response, 500, { __type: 'InternalFailure', message });
    }
  }
}

export function startLocalSfnServer(
  engine: LocalStepFunctions,
  options: { port?: number } = {},
): Promise<LocalSfnServer> {
  const server = createServer((request, response) => void handle(engine, request, response));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((resolveClose, rejectClose) => {
            server.close((error) => (error ? rejectClose(error) : resolveClose()));
            // SDK clients keep connections alive; without this, close() waits for them to time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}
