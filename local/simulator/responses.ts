/** Replies shaped like the AI/ML API's own answers, and the one way they are written. */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface Reply {
  readonly statusCode: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: OutgoingHttpHeaders;
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function jsonReply(statusCode: number, body: unknown): Reply {
  return { statusCode, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(body) };
}

/** The provider's error body: `{ message, path, requestId, statusCode, timestamp }`. */
export function apiErrorReply(
  statusCode: number,
  message: string,
  path: string,
  headers?: OutgoingHttpHeaders,
): Reply {
  const body = {
    message,
    path,
    requestId: randomUUID(),
    statusCode,
    timestamp: new Date().toISOString(),
  };
  return { ...jsonReply(statusCode, body), ...(headers === undefined ? {} : { headers }) };
}

export function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.statusCode, {
    ...reply.headers,
    'content-type': reply.contentType,
    'content-length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
}
