import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AslDefinition, AslRetrier } from '../../local/stepfunctions/definition.js';
import { LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { scaleRetryDelays, waitTimeOverrides } from '../../local/stepfunctions/time-scale.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';

function definitionWith(retrier: AslRetrier): AslDefinition {
  return {
    StartAt: 'Call',
    States: {
      Call: { Type: 'Task', Resource: FUNCTION_ARN, Retry: [retrier], Next: 'Pause' },
      Pause: { Type: 'Wait', Seconds: 10, Next: 'Until' },
      Until: { Type: 'Wait', TimestampPath: '$.at', Next: 'For' },
      For: { Type: 'Wait', SecondsPath: '$.seconds', End: true },
    },
  };
}

describe('scaleRetryDelays', () => {
  it('multiplies IntervalSeconds and MaxDelaySeconds by the scale, in nested states too', () => {
    const definition: AslDefinition = {
      StartAt: 'Branches',
      States: {
        Branches: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'Inner', States: { Inner: { Type: 'Task', Resource: FUNCTION_ARN, Retry: [{ ErrorEquals: ['X'] }], End: true } } }],
          Retry: [{ ErrorEquals: ['Y'], IntervalSeconds: 4, BackoffRate: 2, MaxDelaySeconds: 30, JitterStrategy: 'FULL' }],
          End: true,
        },
      },
    };

    const scaled = scaleRetryDelays(definition, 0.5);

    expect(scaled.States.Branches?.Retry).toEqual([
      { ErrorEquals: ['Y'], IntervalSeconds: 2, BackoffRate: 2, MaxDelaySeconds: 15, JitterStrategy: 'FULL' },
    ]);
    // An absent IntervalSeconds is AWS's default of 1 second, scaled.
    expect(scaled.States.Branches?.Branches?.[0]?.States.Inner?.Retry).toEqual([{ ErrorEquals: ['X'], IntervalSeconds: 0.5 }]);
    expect(definition.States.Branches?.Retry?.[0]?.IntervalSeconds).toBe(4);
  });

  it('makes every retry interval 0 with scale 0 and leaves the definition as is with scale 1', () => {
    const definition = definitionWith({ ErrorEquals: ['X'], IntervalSeconds: 3, MaxDelaySeconds: 8 });

    expect(scaleRetryDelays(definition, 0).States.Call?.Retry).toEqual([{ ErrorEquals: ['X'], IntervalSeconds: 0, MaxDelaySeconds: 0 }]);
    expect(scaleRetryDelays(definition, 1)).toEqual(definition);
  });

  it('rejects a negative or non-finite scale', () => {
    expect(() => scaleRetryDelays(definitionWith({ ErrorEquals: ['X'] }), -1)).toThrow(/scale/);
    expect(() => waitTimeOverrides(definitionWith({ ErrorEquals: ['X'] }), Number.NaN)).toThrow(/scale/);
  });
});

describe('waitTimeOverrides', () => {
  it('scales fixed Seconds waits and leaves input-driven waits alone', () => {
    expect(waitTimeOverrides(definitionWith({ ErrorEquals: ['X'] }), 0.25)).toEqual({ Pause: 2500 });
  });

  it('skips every wait with scale 0', () => {
    expect(waitTimeOverrides(definitionWith({ ErrorEquals: ['X'] }), 0)).toEqual({ Pause: 0, Until: 0, For: 0 });
  });

  it('overrides nothing with scale 1', () => {
    expect(waitTimeOverrides(definitionWith({ ErrorEquals: ['X'] }), 1)).toEqual({});
  });
});

describe('scaled delays in a running execution', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'reelhook-sfn-scale-'));
  });
  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Runs a Task that fails `failures` times, returning the gaps between attempts (ms) and the total run time. */
  async function attemptGaps(retrier: AslRetrier, failures: number, waitScale: number) {
    const attempts: number[] = [];
    const engine = new LocalStepFunctions({
      definition: {
        StartAt: 'Call',
        States: {
          Call: { Type: 'Task', Resource: FUNCTION_ARN, Retry: [retrier], Next: 'Pause' },
          Pause: { Type: 'Wait', Seconds: 10, End: true },
        },
      },
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Scaled',
      lambdaHandlers: {
        [FUNCTION_ARN]: async () => {
          attempts.push(performance.now());
          if (attempts.length <= failures) throw Object.assign(new Error('busy'), { name: 'Busy' });
          return 'ok';
        },
      },
      waitScale,
      journalPath: join(workDir, `${Math.random()}.ndjson`),
    });
    try {
      const { executionArn } = engine.startExecution('run', '{}');
      await engine.idle();
      const execution = engine.describeExecution(executionArn);
      const total = (execution.stopDate?.getTime() ?? 0) - execution.startDate.getTime();
      return { status: execution.status, gaps: attempts.slice(1).map((at, i) => at - (attempts[i] ?? at)), total };
    } finally {
      await engine.close();
    }
  }

  // Timers may fire up to a millisecond early by the wall clock; the upper bounds are generous.
  const EARLY_MS = 2;
  const LATE_MS = 400;

  it('waits IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, times the scale', async () => {
    // Unscaled: 2 s, 6 s, then 18 s capped to 10 s; scaled by 0.01: 20, 60, 100 ms.
    const { status, gaps, total } = await attemptGaps(
      { ErrorEquals: ['Busy'], IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 10, MaxAttempts: 3 },
      3,
      0.01,
    );

    expect(status).toBe('SUCCEEDED');
    expect(gaps).toHaveLength(3);
    [20, 60, 100].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - EARLY_MS);
      expect(gaps[i]).toBeLessThan(expected + LATE_MS);
    });
    // The 10 s Wait, scaled, comes on top of the retries.
    expect(total).toBeGreaterThanOrEqual(20 + 60 + 100 + 100 - EARLY_MS);
  });

  it('draws FULL jitter delays between 0 and the scaled delay', async () => {
    const { status, gaps } = await attemptGaps(
      { ErrorEquals: ['Busy'], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 4, JitterStrategy: 'FULL' },
      4,
      0.01,
    );

    expect(status).toBe('SUCCEEDED');
    [50, 100, 200, 400].forEach((ceiling, i) => {
      expect(gaps[i]).toBeLessThan(ceiling + LATE_MS);
    });
  });

  it('retries without delay with scale 0', async () => {
    const { status, gaps, total } = await attemptGaps({ ErrorEquals: ['Busy'], IntervalSeconds: 60, MaxAttempts: 5 }, 5, 0);

    expect(status).toBe('SUCCEEDED');
    expect(gaps).toHaveLength(5);
    expect(total).toBeLessThan(5_000);
  });
});
