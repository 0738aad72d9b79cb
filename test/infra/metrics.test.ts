/**
 * The metrics the handlers emit are the ones the alarms and the dashboard watch:
 * same namespace, same names, same dimensions.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MetricName,
  recordCallbackAttempt,
  recordGenerationMetric,
  recordProviderDuration,
} from '#shared/runtime/observability.js';

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [field: string]: unknown;
}

/** The EMF lines written to stdout while `run` runs. */
function emitted(run: () => void): Emf[] {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run();
  } finally {
    write.mockRestore();
  }
  return lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Emf);
}

afterEach(() => {
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

describe('handler metrics', () => {
  it('prints nothing outside Lambda, so local mode keeps a clean stdout', () => {
    expect(emitted(() => recordCallbackAttempt(false))).toEqual([]);
  });

  it('reports a failed webhook attempt as the CallbackFailures metric the alarm watches', () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'notify';
    const [line, ...rest] = emitted(() => recordCallbackAttempt(false));
    expect(rest).toEqual([]);
    expect(line?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Reelhook',
        Dimensions: [['service']],
        Metrics: [
          { Name: MetricName.CallbackAttempts, Unit: 'Count' },
          { Name: MetricName.CallbackFailures, Unit: 'Count' },
        ],
      },
    ]);
    expect(line).toMatchObject({ service: 'reelhook', CallbackAttempts: 1, CallbackFailures: 1 });
    expect(emitted(() => recordCallbackAttempt(true))[0]).toMatchObject({ CallbackAttempts: 1, CallbackFailures: 0 });
  });

  it('splits the generation metrics by model, as the dashboard searches them', () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'record';
    const model = 'kling-video/v1.6/standard/text-to-video';
    const [started, duration] = emitted(() => {
      recordGenerationMetric(MetricName.GenerationsStarted, model);
      recordProviderDuration(model, 186);
    });
    expect(started?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Reelhook', Dimensions: [['service', 'model']] });
    expect(started).toMatchObject({ model, GenerationsStarted: 1 });
    expect(duration?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'ProviderDuration', Unit: 'Seconds' }]);
    expect(duration).toMatchObject({ model, ProviderDuration: 186 });
  });
});
