/**
 * Stopping `reelhook dev` closes dynalite while steps may still be writing. dynalite shuts
 * its LevelDB once its last connection ends; a request it was still working on then met a
 * closed database and threw outside any promise, and the process exited 1 instead of 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, expect, it } from 'vitest';
import { ensureTable, startLocalDynamoDb } from '../../local/dynamodb.js';

const WRITES = 200;
let dataDir: string | undefined;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('lets the writes it is working on finish when it closes, and throws nothing afterwards', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-dynamodb-close-'));
  const dynamo = await startLocalDynamoDb({ directory: dataDir });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  await ensureTable(client, {
    TableName: 'close-test',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', record);
  try {
    // Each UpdateItem reads, then writes: close() lands between the two for some of them.
    const sent = Array.from({ length: WRITES }, (_, index) =>
      client.send(
        new UpdateItemCommand({
          TableName: 'close-test',
          Key: { pk: { S: `item-${index % 20}` } },
          UpdateExpression: 'ADD hits :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      ),
    );
    const writes = Promise.allSettled(sent);
    // Once the first has been answered, dynalite is busy with the others.
    await Promise.race(sent);
    await dynamo.close();
    const outcomes = await writes;
    // Let anything dynalite had left running reach its end.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(uncaught).toEqual([]);
    expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true);
  } finally {
    process.off('uncaughtException', record);
    client.destroy();
  }
});
