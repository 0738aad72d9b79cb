/**
 * SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat served by the local Step Functions
 * stand-in, called through @aws-sdk/client-sfn as in AWS, and the admission's resumer on top.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsTaskResumer } from '#shared/admission/task-resumer.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { type LocalSfnServer, startLocalSfnServer } from '../../local/stepfunctions/server.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Tokens';
const definition = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } };

let workDir: string;
let engine: LocalStepFunctions;
let server: LocalSfnServer;
let client: SFNClient;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-tokens-'));
  engine = new LocalStepFunctions({
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: {},
    waitScale: 0,
    journalPath: join(workDir, 'journal.ndjson'),
  });
  server = await startLocalSfnServer(engine);
  client = new SFNClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  await engine?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('task tokens over the SFN API', () => {
  it('settles a waiting Task with SendTaskSuccess and answers TaskDoesNotExist to a second one', async () => {
    const { token, result } = engine.taskTokens.issue(new AbortController().signal);
    await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"admitted":true}' }));
    await expect(result).resolves.toEqual({ admitted: true });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
  });

  it('fails a waiting Task with SendTaskFailure', async () => {
    const { token, result } = engine.taskTokens.issue(new AbortController().signal);
    const failed = expect(result).rejects.toMatchObject({ name: 'Cancelled' });
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Cancelled', cause: 'by the caller' }));
    await failed;
  });

  it('lets the admission resumer pass a slot on when the task is gone, instead of failing', async () => {
    const resumer = new StepFunctionsTaskResumer(client);
    const execution = new AbortController();
    const live = engine.taskTokens.issue(new AbortController().signal);
    const dead = engine.taskTokens.issue(execution.signal);
    execution.abort();
    await dead.result.catch(() => undefined);
    expect(await resumer.resume(live.token, { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(true);
    await expect(live.result).resolves.toEqual({ admitted: true, waited_since: '2026-01-01T00:00:00.000Z' });
    expect(await resumer.resume(dead.token, { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(false);
    expect(await resumer.resume('never-issued', { admitted: true, waited_since: '2026-01-01T00:00:00.000Z' })).toBe(false);
  });
});
