/**
 * The floor under POST latency in one process: what the two AWS SDK calls an accepted
 * POST makes (DynamoDB PutItem of the record, Step Functions StartExecution) cost on
 * their own, with the same bursts of concurrent callers, against an endpoint that answers
 * at once and does nothing else. A handler making those calls in one Node process cannot
 * answer a burst faster than this. Run in a fresh process by bench/run.ts; prints
 * `result {"latenciesMs":[…]}`.
 *
 * Usage: tsx bench/post-floor.ts <bursts> <concurrency>
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

const [bursts = 3, concurrency = 100] = process.argv.slice(2).map(Number);
/** Sequential calls, then discarded bursts, so the JIT has compiled the SDK's paths: the floor is a best case. */
const WARMUP_CALLS = 200;
const WARMUP_BURSTS = 3;

// Answers every call with what a successful one returns: an empty PutItem output, an execution ARN.
const endpoint = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const isStartExecution = String(request.headers['x-amz-target']).endsWith('.StartExecution');
    const body = isStartExecution ? { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:sm:x', startDate: 0 } : {};
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
  });
});
endpoint.listen(0, '127.0.0.1');
await once(endpoint, 'listening');
const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
const clientConfig = { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
const dynamo = new DynamoDBClient(clientConfig);
const sfn = new SFNClient(clientConfig);

let sequence = 0;
/** One accepted POST's two calls, with a record and an input the size of reelhook's. */
async function acceptOnce(): Promise<number> {
  const started = performance.now();
  const id = `gen_${(sequence += 1)}`;
  await dynamo.send(
    new PutItemCommand({
      TableName: 'reelhook',
      Item: {
        pk: { S: `GEN#${id}` },
        id: { S: id },
        status: { S: 'queued' },
        model: { S: 'kling-video/v1.6/standard/text-to-video' },
        prompt: { S: 'A cheerful white raccoon running through a sequoia forest' },
        params: { M: { duration: { N: '5' }, aspect_ratio: { S: '16:9' } } },
        created_at: { S: new Date().toISOString() },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  await sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:sm', name: id, input: JSON.stringify({ generation_id: id }) }));
  return performance.now() - started;
}

const burst = () => Promise.all(Array.from({ length: concurrency }, acceptOnce));
for (let i = 0; i < WARMUP_CALLS; i += 1) await acceptOnce();
for (let i = 0; i < WARMUP_BURSTS; i += 1) await burst();
const latenciesMs: number[] = [];
for (let i = 0; i < bursts; i += 1) latenciesMs.push(...(await burst()));
process.stdout.write(`result ${JSON.stringify({ latenciesMs })}\n`);
dynamo.destroy();
sfn.destroy();
endpoint.close();
