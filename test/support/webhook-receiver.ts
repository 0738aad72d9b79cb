/** A real webhook receiver on 127.0.0.1 that records every request it gets. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  receivedAt: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Status codes to answer, in order; once spent, 200. `hang` never answers (a receiver that is slow, or a sender killed meanwhile). */
  respondWith: Array<number | 'hang'>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const respondWith: Array<number | 'hang'> = [];
  const server = createServer((req, res) => void (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: any = null;
    try {
      json = JSON.parse(body);
    } catch {
      // Recorded as-is; the test decides whether that is a failure.
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
    received.push({ path: req.url ?? '/', headers, body, json, receivedAt: Date.now() });
    const status = respondWith.shift() ?? 200;
    if (status !== 'hang') res.writeHead(status).end('ok');
  })());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
