/**
 * The local DynamoDB stand-in: dynalite (the real DynamoDB wire protocol over
 * LevelDB), persisted under the data folder so records survive a restart.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, type CreateTableInput } from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
// The LevelDB binding dynalite itself uses, resolved from dynalite so both open the folder the same way.
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string, options?: Record<string, unknown>) => { open(): Promise<void>; close(): Promise<void> };
};

/** Another process holds the data folder's LevelDB lock (a running `reelhook dev`, say). */
export class DataFolderLocked extends Error {
  override readonly name = 'DataFolderLocked';
}

export interface LocalDynamoDb {
  endpoint: string;
  close(): Promise<void>;
}

export async function startLocalDynamoDb(options: { directory: string; port?: number }): Promise<LocalDynamoDb> {
  await assertNotLocked(options.directory);
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  // dynalite opens its LevelDB on the first request: make that request now, so the folder's
  // lock is held by the time this resolves and a second opener is refused (not raced).
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
  } finally {
    client.destroy();
  }
  // Requests dynalite is still working on: it is done with one when it ends the response
  // (whether or not the client is still connected, hence end() rather than 'finish').
  const answering = new Set<ServerResponse>();
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    answering.add(response);
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      answering.delete(response);
      return end(...args);
    }) as ServerResponse['end'];
  });
  return {
    endpoint,
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // dynalite closes its LevelDB once the last connection ends. A request it is still
      // working on (an UpdateItem reads, then writes) would then meet a closed database and
      // throw outside any promise, killing the process: let running requests answer first.
      await requestsAnswered(answering, CLOSE_REQUESTS_TIMEOUT_MS);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** How long close() lets dynalite answer the requests it is working on. */
const CLOSE_REQUESTS_TIMEOUT_MS = 5_000;

async function requestsAnswered(answering: Set<ServerResponse>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (answering.size > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * dynalite opens LevelDB lazily and, when another process holds the folder's lock,
 * throws "Database is closed" from inside its request handler: an uncaught exception
 * nobody can catch. Opening the folder once up front turns that into a rejection
 * ({@link DataFolderLocked}) that callers turn into advice for their command.
 */
async function assertNotLocked(directory: string): Promise<void> {
  const probe = new Level(directory, { valueEncoding: 'json' });
  try {
    await probe.open();
  } catch (error) {
    const detail = [error, (error as Error).cause]
      .map((candidate) => (candidate instanceof Error ? candidate.message : ''))
      .find((message) => /lock/i.test(message));
    if (detail) throw new DataFolderLocked(`the DynamoDB data in ${directory} is locked by another process (${detail})`, { cause: error });
    throw error;
  }
  await probe.close();
}

/** Creates the table from the definition read out of the CDK template, unless it exists (a restart). */
export async function ensureTable(client: DynamoDBClient, input: CreateTableInput): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await client.send(new CreateTableCommand(input));
  }
  // dynalite turns a new table ACTIVE on a timer; writes before that fail with ResourceNotFound.
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${input.TableName} did not become ACTIVE`);
}
