import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEngineOptions, LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { ExecutionJournal } from '../../local/stepfunctions/journal.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Resumable';
const STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:step';

const definition = {
  StartAt: 'Step',
  States: {
    Step: { Type: 'Task', Resource: STEP_ARN, ResultPath: '$.result', Next: 'Pause' },
    Pause: { Type: 'Wait', Seconds: 5, End: true },
  },
};

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-journal-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function engineOn(journalPath: string, step: LocalEngineOptions['lambdaHandlers'][string]): LocalStepFunctions {
  return new LocalStepFunctions({
    definition,
    stateMachineArn: STATE_MACHINE_ARN,
    lambdaHandlers: { [STEP_ARN]: step },
    waitScale: 0,
    journalPath,
  });
}

describe('ExecutionJournal', () => {
  it('reads back the entries it appended', () => {
    const path = join(workDir, 'plain', 'journal.ndjson');
    const journal = new ExecutionJournal(path);
    journal.append({ type: 'started', name: 'a', arn: 'arn:a', input: '{}', startDate: '2025-01-01T00:00:00.000Z' });
    journal.append({ type: 'ended', arn: 'arn:a', status: 'SUCCEEDED', stopDate: '2025-01-01T00:00:01.000Z', output: '1' });
    journal.close();

    expect(new ExecutionJournal(path).recovered).toEqual([
      { type: 'started', name: 'a', arn: 'arn:a', input: '{}', startDate: '2025-01-01T00:00:00.000Z' },
      { type: 'ended', arn: 'arn:a', status: 'SUCCEEDED', stopDate: '2025-01-01T00:00:01.000Z', output: '1' },
    ]);
  });

  it('drops a torn last line and appends after the last complete one', () => {
    const path = join(workDir, 'torn.ndjson');
    const complete = `${JSON.stringify({ type: 'started', name: 'a', arn: 'arn:a', input: '{}', startDate: '2025-01-01T00:00:00.000Z' })}\n`;
    writeFileSync(path, `${complete}{"type":"ended","arn":"ar`);

    const journal = new ExecutionJournal(path);
    journal.append({ type: 'ended', arn: 'arn:a', status: 'FAILED', stopDate: '2025-01-01T00:00:01.000Z' });
    journal.close();

    expect(readFileSync(path, 'utf8')).toBe(`${complete}${JSON.stringify({ type: 'ended', arn: 'arn:a', status: 'FAILED', stopDate: '2025-01-01T00:00:01.000Z' })}\n`);
  });

  it('refuses a journal damaged before its last line', () => {
    const path = join(workDir, 'damaged.ndjson');
    writeFileSync(path, 'not json\n{"type":"ended","arn":"arn:a","status":"FAILED","stopDate":"x"}\n');

    expect(() => new ExecutionJournal(path)).toThrow(/damaged line 1/);
  });
});

describe('resuming interrupted executions', () => {
  it('re-runs executions a closed engine left running, with their input, and keeps ended ones', async () => {
    const journalPath = join(workDir, 'resume.ndjson');
    const stuckCalls: unknown[] = [];
    const first = engineOn(journalPath, async (event) => {
      if ((event as { finish?: boolean }).finish) return 'finished early';
      stuckCalls.push(event);
      return new Promise(() => {});
    });
    const done = first.startExecution('done', JSON.stringify({ finish: true }));
    const interrupted = ['one', 'two', 'three'].map((name) => first.startExecution(name, JSON.stringify({ name })));
    await waitFor(() => stuckCalls.length === 3 && first.describeExecution(done.executionArn).status === 'SUCCEEDED');
    await first.close();
    // A crash while writing leaves half a line behind.
    appendFileSync(journalPath, '{"type":"ended","arn":"arn:aws:sta');

    const resumedCalls: unknown[] = [];
    const second = engineOn(journalPath, async (event) => {
      resumedCalls.push(event);
      return 'resumed';
    });
    try {
      expect(second.listExecutions('RUNNING').map((execution) => execution.name).sort()).toEqual(['one', 'three', 'two']);

      const resumed = await second.resumeInterrupted();
      await second.idle();

      expect(resumed.sort()).toEqual(['one', 'three', 'two']);
      expect(resumedCalls).toEqual(expect.arrayContaining([{ name: 'one' }, { name: 'two' }, { name: 'three' }]));
      expect(resumedCalls).toHaveLength(3);
      for (const { executionArn, startDate } of interrupted) {
        const execution = second.describeExecution(executionArn);
        expect(execution.status).toBe('SUCCEEDED');
        expect(execution.startDate).toEqual(startDate);
        expect(JSON.parse(execution.output ?? 'null')).toEqual({ name: execution.name, result: 'resumed' });
      }
      expect(second.describeExecution(done.executionArn)).toMatchObject({
        status: 'SUCCEEDED',
        output: JSON.stringify({ finish: true, result: 'finished early' }),
      });
      expect(await second.resumeInterrupted()).toEqual([]);
    } finally {
      await second.close();
    }

    const third = engineOn(journalPath, async () => 'unused');
    try {
      expect(third.listExecutions('RUNNING')).toEqual([]);
      expect(third.listExecutions('SUCCEEDED')).toHaveLength(4);
    } finally {
      await third.close();
    }
  });

  it('records a stop of an interrupted execution that was never resumed', async () => {
    const journalPath = join(workDir, 'stop-interrupted.ndjson');
    let called = false;
    const first = engineOn(journalPath, () => {
      called = true;
      return new Promise(() => {});
    });
    const { executionArn } = first.startExecution('stuck', '{}');
    await waitFor(() => called);
    await first.close();

    const second = engineOn(journalPath, async () => 'unused');
    second.stopExecution(executionArn, 'Cancelled', 'no longer wanted');
    await second.close();

    const third = engineOn(journalPath, async () => 'unused');
    try {
      expect(third.describeExecution(executionArn)).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'no longer wanted' });
      expect(await third.resumeInterrupted()).toEqual([]);
    } finally {
      await third.close();
    }
  });
});
