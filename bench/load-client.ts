/**
 * The bench's HTTP load generator: JSON requests over a keep-alive node:http agent, timed
 * from the call to the parsed answer. fetch costs its caller enough CPU that, 100 at a
 * time against a server that answers at once, its own p99 was 75–175 ms on this machine
 * against 25–29 ms for this client; a latency figure should be the server's, not the
 * load generator's (the reason tools such as wrk and autocannon exist).
 */
import { Agent, request } from 'node:http';

export interface TimedResponse {
  status: number;
  body: unknown;
  ms: number;
}

const IDLE_CONNECTION_MS = 4_000;

class StaleConnection extends Error {
  constructor(cause: Error) {
    super('the server closed the idle connection the request went out on', { cause });
  }
}

export class LoadClient {
  readonly #agent: Agent;

  constructor(maxConnections: number) {
    // Idle connections are dropped before a Node server's default 5 s keep-alive timeout would drop them.
    this.#agent = new Agent({ keepAlive: true, maxSockets: maxConnections, timeout: IDLE_CONNECTION_MS });
  }

  /** Requests sent again because the server had closed the idle keep-alive connection they went out on. */
  resent = 0;

  async postJson(url: string, headers: Record<string, string>, payload: unknown): Promise<TimedResponse> {
    const started = performance.now();
    const body = JSON.stringify(payload);
    try {
      return await this.#send(url, headers, body, started);
    } catch (error) {
      // The race Node's documentation describes for keep-alive agents: the server closed an idle
      // connection as the request went out on it, so the server never read the request.
      if (!(error instanceof StaleConnection)) throw error;
      this.resent += 1;
      return this.#send(url, headers, body, started);
    }
  }

  #send(url: string, headers: Record<string, string>, body: string, started: number): Promise<TimedResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, ms: performance.now() - started });
            } catch {
              reject(new Error(`${url} answered HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
            }
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(req.reusedSocket && error.code === 'ECONNRESET' ? new StaleConnection(error) : error);
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
