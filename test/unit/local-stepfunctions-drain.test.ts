import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEngineOptions, LocalStepFunctions } from '../../local/stepfunctions/engine.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Drain';
const FIRST_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:first';
const SECOND_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:second';

/** Two Tasks in a row, so a drain can be caught between them. */
const definition = {
  StartAt: 'First Step',
  States: {
    'First Step': { Type: 'Task', Resource: FIRST_ARN, ResultPath: '$.first', Next: 'Second Step' },
    'Second Step': { Type: 'Task', Resource: SECOND_ARN, ResultPath: '$.second', End: true },
  },
};

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-drain-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function engineOn(journalPath: string, lambdaHandlers: LocalEngineOptions['lambdaHandlers']): LocalStepFunctions {
  return new LocalStepFunctions({ definition, stateMachineArn: STATE_MACHINE_ARN, lambdaHandlers, waitScale: 0, journalPath });
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function endedInJournal(journalPath: string): string[] {
  return readFileSync(journalPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { type: string; arn: string })
    .filter((entry) => entry.type === 'ended')
    .map((entry) => entry.arn.split(':').at(-1) ?? '');
}

describe('draining the engine', () => {
  it('lets running Tasks finish, starts no further Task, and leaves the executions to resume', async () => {
    const journalPath = join(workDir, 'drain.ndjson');
    const finishFirst: Array<() => void> = [];
    const firstDone: string[] = [];
    const secondCalls: string[] = [];
    const draining = engineOn(journalPath, {
      [FIRST_ARN]: (event) =>
        new Promise((resolve) => {
          finishFirst.push(() => {
            firstDone.push((event as { name: string }).name);
            resolve('first done');
          });
        }),
      [SECOND_ARN]: async (event) => {
        secondCalls.push((event as { name: string }).name);
        return 'second done';
      },
    });
    for (const name of ['a', 'b', 'c']) draining.startExecution(name, JSON.stringify({ name }));
    await waitFor(() => finishFirst.length === 3);
    expect(draining.inFlightTaskCount()).toBe(3);

    const drained = draining.drain(5_000);
    // A start accepted during the drain is journaled for the next run, not run now.
    draining.startExecution('late', JSON.stringify({ name: 'late' }));
    for (const finish of finishFirst) finish();
    expect(await drained).toBe(true);
    await draining.close();

    expect(firstDone.sort()).toEqual(['a', 'b', 'c']);
    expect(secondCalls).toEqual([]);
    expect(endedInJournal(journalPath)).toEqual([]);

    const resumedCalls: string[] = [];
    const next = engineOn(journalPath, {
      [FIRST_ARN]: async () => 'first again',
      [SECOND_ARN]: async (event) => {
        resumedCalls.push((event as { name: string }).name);
        return 'second done';
      },
    });
    try {
      expect((await next.resumeInterrupted()).sort()).toEqual(['a', 'b', 'c', 'late']);
      await next.idle();
      expect(resumedCalls.sort()).toEqual(['a', 'b', 'c', 'late']);
      expect(next.listExecutions('SUCCEEDED')).toHaveLength(4);
    } finally {
      await next.close();
    }
  });

  it('stops waiting for a Task that outlasts the timeout and still resumes its execution', async () => {
    const journalPath = join(workDir, 'drain-timeout.ndjson');
    let started = false;
    const stuck = engineOn(journalPath, {
      [FIRST_ARN]: () => {
        started = true;
        return new Promise(() => {});
      },
      [SECOND_ARN]: async () => 'unused',
    });
    stuck.startExecution('stuck', '{}');
    await waitFor(() => started);
    const before = Date.now();
    expect(await stuck.drain(50)).toBe(false);
    expect(Date.now() - before).toBeLessThan(2_000);
    await stuck.close();

    const next = engineOn(journalPath, { [FIRST_ARN]: async () => 'ok', [SECOND_ARN]: async () => 'ok' });
    try {
      expect(await next.resumeInterrupted()).toEqual(['stuck']);
      await next.idle();
      expect(next.listExecutions('SUCCEEDED').map((execution) => execution.name)).toEqual(['stuck']);
    } finally {
      await next.close();
    }
  });

  it('resolves at once when nothing is running and records executions that ended before it', async () => {
    const journalPath = join(workDir, 'drain-idle.ndjson');
    const engine = engineOn(journalPath, { [FIRST_ARN]: async () => 'ok', [SECOND_ARN]: async () => 'ok' });
    engine.startExecution('finished', '{}');
    await engine.idle();
    expect(await engine.drain(5_000)).toBe(true);
    await engine.close();
    expect(endedInJournal(journalPath)).toEqual(['finished']);
  });
});
