/**
 * The local DynamoDB stand-in: dynalite (the real DynamoDB wire protocol over
 * LevelDB), persisted under the data folder so records survive a restart.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableInput } from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface LocalDynamoDb {
  endpoint: string;
  close(): Promise<void>;
}

export async function startLocalDynamoDb(options: { directory: string; port?: number }): Promise<LocalDynamoDb> {
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections?.();
      }),
  };
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
