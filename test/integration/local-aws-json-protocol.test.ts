/**
 * The AWS JSON protocol as the local stand-ins answer it (local/aws-json-protocol.ts), on
 * the wire: EventBridge (1.1) and Step Functions (1.0) dispatch on X-Amz-Target, refuse
 * what the services refuse with the same `__type`, and answer in their own content type.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsJsonServer } from '../../local/aws-json-protocol.js';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { startLocalSfnServer, type LocalSfnServer } from '../../local/stepfunctions/server.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Protocol';

let workDir: string;
let bus: LocalEventBridge;
let engine: LocalStepFunctions;
let sfn: LocalSfnServer;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-aws-json-'));
  // The events file's folder does not exist: every accepted entry fails to be written.
  bus = await startLocalEventBridge({ busName: 'default', logPath: join(workDir, 'missing', 'events.ndjson'), rules: [] });
  engine = new LocalStepFunctions({
    definition: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } },
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: {},
    waitScale: 0,
    journalPath: join(workDir, 'journal.ndjson'),
  });
  sfn = await startLocalSfnServer(engine);
});

afterAll(async () => {
  await bus?.close();
  await sfn?.close();
  await engine?.close();
  rmSync(workDir, { recursive: true, force: true });
});

/** The two stand-ins: where they listen, their protocol version and one operation each accepts. */
const services = () => [
  { name: 'EventBridge', endpoint: bus.endpoint, version: '1.1', prefix: 'AWSEvents', operation: 'PutEvents' },
  { name: 'Step Functions', endpoint: sfn.endpoint, version: '1.0', prefix: 'AWSStepFunctions', operation: 'ListExecutions' },
];

async function call(endpoint: string, target: string | undefined, body: string, method = 'POST') {
  const response = await fetch(endpoint, {
    method,
    headers: { 'content-type': 'application/x-amz-json-1.1', ...(target && { 'x-amz-target': target }) },
    ...(method === 'POST' && { body }),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
}

describe('the local stand-ins speak the AWS JSON protocol', () => {
  it('answer in their own protocol version, errors too', async () => {
    const ok = await call(sfn.endpoint, 'AWSStepFunctions.ListExecutions', JSON.stringify({ stateMachineArn: STATE_MACHINE_ARN }));
    expect(ok).toEqual({ status: 200, type: 'application/x-amz-json-1.0', body: { executions: [] } });
    for (const service of services()) {
      const refused = await call(service.endpoint, `${service.prefix}.Nope`, '{}');
      expect(refused.type, service.name).toBe(`application/x-amz-json-${service.version}`);
    }
  });

  it('know only their own operations: not another service\'s, not a GET, not a name every object inherits', async () => {
    for (const service of services()) {
      const targets = [`${service.prefix}.constructor`, `${service.prefix}.toString`, `${service.prefix}.__proto__`, 'AWSLambda.Invoke', undefined];
      for (const target of targets) {
        const answer = await call(service.endpoint, target, '{}');
        expect(answer, `${service.name} ${target}`).toMatchObject({
          status: 400,
          body: { __type: 'UnknownOperationException', message: `Unknown operation: ${String(target)}` },
        });
      }
      const get = await call(service.endpoint, `${service.prefix}.${service.operation}`, '', 'GET');
      expect(get, service.name).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    }
  });

  it('refuse a body that is not a JSON object as a SerializationException', async () => {
    for (const service of services()) {
      for (const [body, message] of [
        ['{', 'Request body is not valid JSON'],
        ['[]', 'Request body must be a JSON object'],
        ['null', 'Request body must be a JSON object'],
      ] as const) {
        const answer = await call(service.endpoint, `${service.prefix}.${service.operation}`, body);
        expect(answer, `${service.name} ${body}`).toMatchObject({ status: 400, body: { __type: 'SerializationException', message } });
      }
    }
  });

  it('refuse a body over the service\'s limit with its status', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1) });
    expect(await call(bus.endpoint, 'AWSEvents.PutEvents', big)).toMatchObject({
      status: 413,
      body: { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' },
    });
    expect(await call(sfn.endpoint, 'AWSStepFunctions.StartExecution', big)).toMatchObject({
      status: 400,
      body: { __type: 'ValidationException', message: 'Request body is too large' },
    });
  });

  it('answer a failure of their own as a 500 with the service\'s internal __type', async () => {
    const entry = { Source: 'test', DetailType: 'Something Happened', Detail: '{}' };
    const answer = await call(bus.endpoint, 'AWSEvents.PutEvents', JSON.stringify({ Entries: [entry] }));
    expect(answer).toMatchObject({ status: 500, body: { __type: 'InternalException', message: expect.stringContaining('ENOENT') } });
  });
});

describe('startAwsJsonServer', () => {
  it('answers a thrown value that is not an Error with the internal message, and closes twice', async () => {
    const server = await startAwsJsonServer({
      protocolVersion: '1.0',
      targetPrefix: 'Test',
      operations: {
        Throw: () => {
          // A dependency may throw anything; the answer must still be the service's 500.
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw 'not an error';
        },
      },
      maxBodyBytes: 1024,
      bodyTooLarge: { type: 'ValidationException', message: 'too large', statusCode: 413 },
      internalError: { type: 'InternalFailure', message: 'the test service failed' },
    });
    try {
      expect(await call(server.endpoint, 'Test.Throw', '{}')).toMatchObject({
        status: 500,
        body: { __type: 'InternalFailure', message: 'the test service failed' },
      });
    } finally {
      await server.close();
    }
    await expect(server.close()).resolves.toBeUndefined();
  });
});
