/**
 * A provider that echoes our key back in every text it sends (the create's status, the
 * status check's status and its error's name and message, plain and as `Bearer …`): what
 * the tests that keep the provider key out of every output run against.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoProvider {
  baseUrl: string;
  close(): Promise<void>;
}

export async function startEchoProvider(key: string): Promise<EchoProvider> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const echoed = `key ${key}, header ${request.headers.authorization ?? ''}`;
      const body =
        request.method === 'POST'
          ? { id: 'echo-1', status: `queued ${key}` }
          : { id: 'echo-1', status: 'error', error: { name: `Bearer ${key}`, message: echoed } };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
