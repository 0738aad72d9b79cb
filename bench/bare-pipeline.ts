/**
 * The e2e baseline: a bare script doing the I/O one generation needs, with no
 * orchestration, against the same kind of stand-ins `reelhook dev` runs in its process
 * (the AI/ML API simulator, dynalite, s3rver). Per generation: one provider POST, the
 * given number of status GETs (more only if the job is not done by then), download +
 * S3 upload, the DynamoDB writes reelhook makes (record put, accepted, one per poll,
 * completed, callback delivered, and the duration-history ADD when reelhook made it),
 * one webhook POST.
 *
 * Usage: tsx bench/bare-pipeline.ts <spec.json>, spec = BarePipelineSpec. Prints
 * `batch-start <epoch ms>` when the measured batch starts (the webhooks tell its end)
 * and `result {…}` when it is done.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, type CreateTableInput } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { ensureTable, startLocalDynamoDb } from '../local/dynamodb.js';
import { localS3ClientConfig, startLocalS3 } from '../local/s3.js';
import { startProviderSimulator } from '../local/simulator/server.js';

export interface BarePipelineSpec {
  dataDir: string;
  table: Omit<CreateTableInput, 'TableName'>;
  webhookUrl: string;
  warmup: number;
  /** Status GETs per measured generation (the batch size is its length), as reelhook made them. */
  polls: number[];
  /** Duration-history writes per generation reelhook made (0 or 1). */
  historyWrites: number;
  simulatorSeconds: number;
  videoBytes: number;
}

const TABLE = 'reelhook';
const BUCKET = 'reelhook-videos';
const MODEL = 'kling-video/v1.6/standard/text-to-video';

const spec = JSON.parse(await readFile(process.argv[2] ?? '', 'utf8')) as BarePipelineSpec;
const providerKey = randomBytes(16).toString('hex');
const dynamo = await startLocalDynamoDb({ directory: join(spec.dataDir, 'dynamodb') });
const s3Server = await startLocalS3({ directory: join(spec.dataDir, 's3'), buckets: [BUCKET] });
const simulator = await startProviderSimulator({
  apiKey: providerKey,
  processingSeconds: spec.simulatorSeconds,
  videoSizeBytes: spec.videoBytes,
});
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
await ensureTable(dynamoClient, { TableName: TABLE, ...spec.table });
const db = createDocumentClient(dynamoClient);
const s3 = new S3Client(localS3ClientConfig(s3Server.endpoint));
const auth = { authorization: `Bearer ${providerKey}` };
let statusGets = 0;

const update = (pk: string, fields: Record<string, unknown>) =>
  db.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk },
      UpdateExpression: `SET ${Object.keys(fields).map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(Object.keys(fields).map((name, i) => [`#f${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(Object.values(fields).map((value, i) => [`:v${i}`, value])),
    }),
  );

async function generation(id: string, polls: number): Promise<void> {
  const pk = `GEN#${id}`;
  const at = new Date().toISOString();
  const record = {
    pk,
    id,
    status: 'queued',
    model: MODEL,
    prompt: 'A cheerful white raccoon running through a sequoia forest',
    params: { duration: 5, aspect_ratio: '16:9' },
    metadata: {},
    provider: { generation_id: null, status: null },
    callback: { url: spec.webhookUrl, state: 'none', attempts: 0, last_status_code: null },
    timeline: { accepted: at },
    created_at: at,
    updated_at: at,
    completed_at: null,
  };
  await db.send(new PutCommand({ TableName: TABLE, Item: record }));
  const created = await fetch(`${simulator.baseUrl}/v2/video/generations`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: record.prompt, duration: 5, aspect_ratio: '16:9' }),
  });
  const job = (await created.json()) as { id: string };
  await update(pk, { status: 'generating', provider: { generation_id: job.id, status: 'queued' }, updated_at: new Date().toISOString() });

  // A script waits the job's expected time, then polls; reelhook's polling count is matched.
  await sleep(spec.simulatorSeconds * 1000);
  let done: { status: string; video?: { url: string } } = { status: 'queued' };
  for (let gets = 0; gets < polls || done.status !== 'completed'; gets += 1) {
    const status = await fetch(`${simulator.baseUrl}/v2/video/generations?generation_id=${job.id}`, { headers: auth });
    done = (await status.json()) as typeof done;
    statusGets += 1;
    await update(pk, { polls: gets + 1, provider: { generation_id: job.id, status: done.status }, updated_at: new Date().toISOString() });
  }

  const video = Buffer.from(await (await fetch(done.video?.url ?? '')).arrayBuffer());
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `videos/${id}.mp4`, Body: video, ContentType: 'video/mp4' }));
  if (spec.historyWrites > 0) {
    await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: `MODELSTATS#${MODEL}#bench` },
        UpdateExpression: 'ADD #bucket :one, #total :one',
        ExpressionAttributeNames: { '#bucket': 'b0', '#total': 'total' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }
  const completedAt = new Date().toISOString();
  await update(pk, { status: 'completed', video: { s3_uri: `s3://${BUCKET}/videos/${id}.mp4`, size_bytes: video.length }, completed_at: completedAt });
  const hook = await fetch(spec.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': `msg_${id}` },
    body: JSON.stringify({ type: 'generation.completed', timestamp: completedAt, data: { ...record, status: 'completed', completed_at: completedAt } }),
  });
  await hook.arrayBuffer();
  await update(pk, { callback: { url: spec.webhookUrl, state: 'delivered', attempts: 1, last_status_code: hook.status } });
}

await Promise.all(Array.from({ length: spec.warmup }, (_, i) => generation(`bare_warmup${i}`, 1)));
statusGets = 0;
const cpuBefore = process.cpuUsage();
const started = Date.now();
process.stdout.write(`batch-start ${started}\n`);
await Promise.all(spec.polls.map((polls, i) => generation(`bare_${i}`, polls)));
const cpu = process.cpuUsage(cpuBefore);
const result = {
  seconds: (Date.now() - started) / 1000,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  statusGetsPerGeneration: statusGets / spec.polls.length,
};
process.stdout.write(`result ${JSON.stringify(result)}\n`);

s3.destroy();
dynamoClient.destroy();
await simulator.close();
await s3Server.close();
await dynamo.close();
