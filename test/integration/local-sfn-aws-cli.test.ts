/**
 * The AWS CLI (Debian's `awscli`, a real client of its own) inspects a generation's run in
 * `reelhook dev`: the state machine, its definition, and the execution's history, through
 * the Step Functions stand-in that running-stack.json names.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINTS_FILE } from '../../local/stack.js';
import { LOCAL_NAMES } from '../../local/names.js';
import { startDevProcess, type DevProcess } from '../support/dev-process.js';
import { api, waitFor } from '../support/http.js';

const run = promisify(execFile);

let dataDir: string;
let dev: DevProcess;
let sfnEndpoint: string;

/** Runs `aws stepfunctions …` against the stand-in with dummy credentials and no user configuration. */
async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run('aws', ['stepfunctions', ...args, '--endpoint-url', sfnEndpoint, '--output', 'json'], {
    env: {
      PATH: process.env.PATH,
      HOME: dataDir,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: LOCAL_NAMES.region,
      AWS_CONFIG_FILE: join(dataDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeout: 60_000,
    // A whole history is a few MB of JSON (execFile keeps only 1 MiB by default).
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  // Fail, never skip: without the CLI this suite must not turn green (.ci/run installs it).
  await run('aws', ['--version']).catch((error: unknown) => {
    throw new Error(`the AWS CLI is not installed: apt-get install -y awscli (.ci/run does this)`, { cause: error });
  });
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-aws-cli-'));
  dev = await startDevProcess({ REELHOOK_DATA_DIR: dataDir, REELHOOK_WAIT_SCALE: '0' });
  ({ sfnEndpoint } = JSON.parse(await readFile(join(dataDir, ENDPOINTS_FILE), 'utf8')) as { sfnEndpoint: string });
}, 90_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGTERM');
    await dev.exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('aws stepfunctions against reelhook dev', () => {
  it('lists and describes the state machine, and shows a finished generation’s history', async () => {
    const created = await api(dev.url, 'POST', '/v2/video/generations', {
      apiKey: dev.apiKey,
      body: { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'A lighthouse in a storm' },
    });
    expect(created.status).toBe(200);
    await waitFor(async () => {
      const { json } = await api(dev.url, 'GET', `/v2/video/generations/${created.json.id}`, { apiKey: dev.apiKey });
      return json.status === 'completed' ? json : undefined;
    }, 60_000, 200);

    const { stateMachines } = await aws('list-state-machines');
    expect(stateMachines).toEqual([
      { stateMachineArn: LOCAL_NAMES.stateMachineArn, name: expect.any(String), type: 'STANDARD', creationDate: expect.any(Number) },
    ]);
    const machine = await aws('describe-state-machine', '--state-machine-arn', LOCAL_NAMES.stateMachineArn);
    expect(machine).toMatchObject({ stateMachineArn: LOCAL_NAMES.stateMachineArn, status: 'ACTIVE', type: 'STANDARD' });
    expect(Object.keys(JSON.parse(machine.definition as string).States)).toContain('Check Status');

    const { executions } = await aws('list-executions', '--state-machine-arn', LOCAL_NAMES.stateMachineArn);
    expect(executions).toHaveLength(1);
    const { executionArn } = executions[0] as { executionArn: string };
    const forExecution = await aws('describe-state-machine-for-execution', '--execution-arn', executionArn);
    expect(forExecution.definition).toBe(machine.definition);

    // The CLI pages through the whole history itself.
    const { events } = (await aws('get-execution-history', '--execution-arn', executionArn)) as { events: Array<{ id: number; type: string; stateEnteredEventDetails?: { name: string } }> };
    expect(events[0]!.type).toBe('ExecutionStarted');
    expect(events.at(-1)!.type).toBe('ExecutionSucceeded');
    expect(events.map((event) => event.id)).toEqual(events.map((_event, index) => index + 1));
    const entered = events.filter((event) => event.type.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails!.name);
    expect(entered).toEqual(expect.arrayContaining(['Wait For Provider Slot', 'Submit Generation', 'Check Status', 'Copy Video', 'Generation Completed']));
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['TaskSubmitted', 'LambdaFunctionScheduled', 'LambdaFunctionSucceeded']));

    const newest = await aws('get-execution-history', '--execution-arn', executionArn, '--reverse-order', '--max-items', '2');
    expect(newest.events.map((event: { id: number }) => event.id)).toEqual([events.length, events.length - 1]);
    expect(newest.NextToken).toEqual(expect.any(String));
  });
});
