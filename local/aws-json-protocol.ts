/**
 * The server side of the AWS JSON protocol (1.0 and 1.1, as `@aws-sdk/client-*` speak it),
 * shared by the local stand-ins (EventBridge, Step Functions): a POST names its operation
 * in `X-Amz-Target: <prefix>.<Operation>` and carries a JSON object; the answer is a JSON
 * object, or an error `{ "__type", "message" }` with its status, which the SDK turns into
 * the service's named exception.
 *
 * @example
 * const server = await startAwsJsonServer({ protocolVersion: '1.1', targetPrefix: 'AWSEvents',
 *   operations: { PutEvents: (request) => ({ FailedEntryCount: 0, Entries: [] }) },
 *   maxBodyBytes: 256 * 1024, bodyTooLarge: { type: 'ValidationException', message: 'too large', statusCode: 413 },
 *   internalError: { type: 'InternalException', message: 'failed' } });
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the service answers as `{ "__type": type, "message" }`. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type JsonObject = Record<string, unknown>;
type AwsJsonOperation = (request: JsonObject) => JsonObject | Promise<JsonObject>;

export interface AwsJsonService {
  /** 1.0 (Step Functions) or 1.1 (EventBridge): the content type of every answer. */
  protocolVersion: '1.0' | '1.1';
  /** The part of X-Amz-Target before the dot (`AWSEvents`, `AWSStepFunctions`). */
  targetPrefix: string;
  operations: Record<string, AwsJsonOperation>;
  /** Reading stops past this many bytes, answering {@link bodyTooLarge}. */
  maxBodyBytes: number;
  bodyTooLarge: { type: string; message: string; statusCode: number };
  /** The service's answer to an error of its own kind; others are internal errors. */
  serviceError?: (error: unknown) => AwsJsonError | undefined;
  /** `__type` of a 500, and its message when the failure carries none. */
  internalError: { type: string; message: string };
}

export interface AwsJsonServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Stops listening and drops kept-alive connections; calling it again does nothing. */
  close(): Promise<void>;
}

/** Serves `service` on 127.0.0.1 (port 0 or absent: a free one). */
export async function startAwsJsonServer(service: AwsJsonService, options: { port?: number } = {}): Promise<AwsJsonServer> {
  const server = createServer((request, response) => void handle(service, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

async function handle(service: AwsJsonService, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const operation = operationOf(service, request);
    send(service, response, 200, await operation(await readJsonObject(service, request)));
  } catch (error) {
    // A body left unread (too large, or an unknown operation's) would be taken for the next
    // request on this connection: answer, then close it.
    if (!request.complete) response.setHeader('connection', 'close');
    const known = error instanceof AwsJsonError ? error : service.serviceError?.(error);
    if (known) {
      send(service, response, known.statusCode, { __type: known.type, message: known.message });
    } else {
      const message = error instanceof Error ? error.message : service.internalError.message;
      send(service, response, 500, { __type: service.internalError.type, message });
    }
  }
}

/** The operation X-Amz-Target names; only the service's own (never one inherited from Object). */
function operationOf(service: AwsJsonService, request: IncomingMessage): AwsJsonOperation {
  const target = request.headers['x-amz-target'];
  const prefix = `${service.targetPrefix}.`;
  const name = typeof target === 'string' && target.startsWith(prefix) ? target.slice(prefix.length) : undefined;
  const operation = request.method === 'POST' && name !== undefined && Object.hasOwn(service.operations, name) ? service.operations[name] : undefined;
  if (!operation) throw new AwsJsonError('UnknownOperationException', `Unknown operation: ${String(target)}`);
  return operation;
}

async function readJsonObject(service: AwsJsonService, request: IncomingMessage): Promise<JsonObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > service.maxBodyBytes) {
      const { type, message, statusCode } = service.bodyTooLarge;
      throw new AwsJsonError(type, message, statusCode);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new AwsJsonError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsJsonError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as JsonObject;
}

function send(service: AwsJsonService, response: ServerResponse, statusCode: number, body: JsonObject): void {
  const payload = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': `application/x-amz-json-${service.protocolVersion}`,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}
