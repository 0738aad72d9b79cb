/**
 * The local stand-in for API Gateway's HTTP API: turns a node:http request into the
 * payload-format-2.0 event the API Lambda receives in AWS, and its result back.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ApiError } from '#shared/errors.js';
import { errorResponse, internalErrorResponse, MAX_BODY_BYTES, type ApiResponse } from '../functions/api/http.js';
import { createDashboard } from './dashboard.js';

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;


/** One answered API request, as the live log of `reelhook dev` shows it. */
export interface ApiRequestRecord {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  statusCode: number;
  durationMs: number;
  /** The handler's answer, when it gave one (the id of a created generation is in it). */
  responseBody?: string;
}

interface LocalHttpApiOptions {
  port?: number;
  /** Called once each API request has been answered (dashboard assets excluded); must not throw. */
  onRequest?: (request: ApiRequestRecord) => void;
}

export interface LocalHttpApi {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startLocalHttpApi(handler: HttpApiHandler, options: LocalHttpApiOptions = {}): Promise<LocalHttpApi> {
  // Local mode only: the dashboard's page and assets; every other request goes to the API handler.
  const dashboard = createDashboard();
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (await dashboard(req, res)) return;
      const started = performance.now();
      const answered: { body?: string } = {};
      const { onRequest } = options;
      if (onRequest) {
        res.once('finish', () =>
          onRequest({ method: req.method ?? 'GET', url: req.url ?? '/', statusCode: res.statusCode, durationMs: performance.now() - started, responseBody: answered.body }),
        );
      }
      const body = await readBody(req);
      if (body === null) {
        // Nothing past the API's own limit is kept or authenticated: the answer is the
        // handler's 413, sent at once; the rest of the body is dropped as it arrives.
        const tooLarge = new ApiError('PayloadTooLarge', `the body is over the limit of ${MAX_BODY_BYTES} bytes`);
        discardRest(req);
        send(res, errorResponse(tooLarge)!);
        return;
      }
      const result = await handler(toEvent(req, body));
      answered.body = result.body;
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.body ?? '');
    } catch {
      // As with API Gateway's own 500, the handler never answered; here too in the contract's shape.
      if (res.headersSent) res.destroy();
      else send(res, internalErrorResponse());
    }
  };
  const server = createServer((req, res) => void serve(req, res));
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** How long the rest of a refused body is discarded before the connection is cut. */
const DISCARD_MS = 2_000;

/**
 * Lets the rest of a refused body arrive and drops it, unbuffered, for DISCARD_MS at most.
 * Cutting the connection at once would lose the answer: closing a socket with unread bytes
 * sends a TCP reset, and the reset makes the client's system drop the 413 it had not read
 * yet (fetch then fails with ECONNRESET or EPIPE). nginx's lingering close does the same.
 */
function discardRest(req: IncomingMessage): void {
  const { socket } = req;
  const cut = setTimeout(() => socket.destroy(), DISCARD_MS).unref();
  req.once('end', () => clearTimeout(cut));
  socket.once('close', () => clearTimeout(cut));
  req.resume();
}

function send(res: ServerResponse, response: ApiResponse): void {
  res.writeHead(response.statusCode, response.headers).end(response.body);
}

/** The body, or null as soon as it is known to exceed MAX_BODY_BYTES (from Content-Length or the bytes so far). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Listeners rather than for-await: leaving a for-await early destroys the request, and
    // with it the connection the 413 is to be sent on.
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      stop();
      req.pause();
      resolve(null);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const method = req.method ?? 'GET';
  const text = isUtf8(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    // Bytes that are not UTF-8 go base64-encoded: a decoding here would replace them with U+FFFD unseen.
    body: body.length === 0 ? undefined : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}
