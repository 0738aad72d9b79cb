/**
 * A table laid out like reelhook's (TableLayout: the key and the by-owner index) in
 * dynalite on loopback, for tests of the stores against the DynamoDB wire protocol.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { ensureTable, startLocalDynamoDb } from '../../local/dynamodb.js';

export interface LocalTable {
  tableName: string;
  db: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function startLocalTable(tableName: string): Promise<LocalTable> {
  const dataDir = await mkdtemp(join(tmpdir(), `${tableName}-`));
  const dynamo = await startLocalDynamoDb({ directory: dataDir });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const close = async () => {
    client.destroy();
    await dynamo.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  const { partitionKey, ownerIndex } = TableLayout;
  try {
    await ensureTable(client, {
      TableName: tableName,
      KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: ownerIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: ownerIndex.sortKey, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: ownerIndex.name,
          KeySchema: [
            { AttributeName: ownerIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: ownerIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { tableName, db: createDocumentClient(client), close };
}
