/** The bench's webhook receiver: counts `generation.completed` events by generation id. */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Counts `generation.completed` webhooks by generation id, and lets callers wait for a set of them. */
export class WebhookReceiver {
  readonly completed = new Map<string, number>();
  #waiters: Array<() => void> = [];
  readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: string; data?: { id?: string } };
          if (event.type === 'generation.completed' && event.data?.id) this.completed.set(event.data.id, Date.now());
        } catch {
          // Not an event: answered all the same, and never counted.
        }
        res.writeHead(204).end();
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Resolves with the time the last of `ids` arrived. */
  async allOf(ids: Iterable<string>, timeoutMs: number): Promise<number> {
    const wanted = [...ids];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = wanted.filter((id) => !this.completed.has(id));
      if (missing.length === 0) return Math.max(...wanted.map((id) => this.completed.get(id) ?? 0));
      if (Date.now() > deadline) throw new Error(`${missing.length} of ${wanted.length} generations did not complete in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
