/**
 * Metrics and traces of the reelhook functions, with Powertools for AWS Lambda.
 *
 * Metrics are CloudWatch Embedded Metric Format lines on stdout, which CloudWatch turns
 * into metrics only when it reads them from a Lambda log stream; elsewhere (local mode,
 * tests) the helpers print nothing, so `reelhook generate --json` keeps a clean stdout.
 * Tracing is on only inside Lambda with active tracing (Powertools' own rule).
 *
 * infra/monitoring.ts alarms on these names, so they are declared once, here.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** CloudWatch namespace of every reelhook metric. */
export const METRICS_NAMESPACE = 'Reelhook';
/** Powertools service name: the `service` dimension of every metric and the traces' service annotation. */
export const SERVICE_NAME = 'reelhook';

/** The metrics the handlers emit. */
export const MetricName = {
  /** A generation was submitted to the provider (create), by model. */
  GenerationsStarted: 'GenerationsStarted',
  /** A generation ended `completed` (record), by model. */
  GenerationsCompleted: 'GenerationsCompleted',
  /** A generation ended `error` (record), by model. */
  GenerationsFailed: 'GenerationsFailed',
  /** One status check of the provider (status), by model. */
  ProviderPolls: 'ProviderPolls',
  /** Seconds from the provider's acceptance to its `completed` (status), by model. */
  ProviderDuration: 'ProviderDuration',
  /** Bytes of one video copied into the bucket (copy), by model. */
  BytesCopied: 'BytesCopied',
  /** One webhook delivery attempt (notify); dimension `service` only. */
  CallbackAttempts: 'CallbackAttempts',
  /** One webhook delivery attempt that got no 2xx in time (notify); dimension `service` only. */
  CallbackFailures: 'CallbackFailures',
  /** Provider slots held, sampled at every admission change; dimension `service` only. */
  ProviderSlotsInUse: 'ProviderSlotsInUse',
  /** The provider concurrency limit in force (configured or learned), sampled likewise. */
  ProviderConcurrencyLimit: 'ProviderConcurrencyLimit',
  /** Generations waiting for a provider slot, sampled likewise. */
  QueueDepth: 'QueueDepth',
  /** Seconds the oldest waiting generation has waited, sampled likewise; the stack alarms on it. */
  OldestQueuedSeconds: 'OldestQueuedSeconds',
  /** One 429 the provider answered to a create or a status check. */
  ProviderRateLimited: 'ProviderRateLimited',
  /** A create sent again after one that was cut off (the provider may bill two jobs). */
  SubmissionsRepeated: 'SubmissionsRepeated',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** The per-generation counters {@link recordGenerationMetric} takes. */
export type GenerationCounter = Extract<
  MetricName,
  'GenerationsStarted' | 'GenerationsCompleted' | 'GenerationsFailed' | 'ProviderPolls'
>;

/** Dimension that splits the per-generation metrics. */
export const MODEL_DIMENSION = 'model';

/**
 * The X-Ray tracer. Outgoing HTTP is not captured globally: callback URLs may carry
 * their owners' tokens and provider video URLs carry signatures, and X-Ray would keep
 * both; AWS SDK clients are traced through {@link traceClient}.
 */
const tracer = new Tracer({ serviceName: SERVICE_NAME, captureHTTPsRequests: false });

/** EMF means something only in a Lambda log stream. */
const inLambda = (): boolean => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);

/**
 * Emits the given metrics at once, in one EMF line with the given dimensions (besides
 * `service`), so that the dimensions of one metric never leak onto another.
 */
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

function emit(dimensions: Record<string, string>, values: ReadonlyArray<[MetricName, Unit, number]>): void {
  // POWERTOOLS_METRICS_DISABLED is still honoured: each line's Metrics instance reads it.
  if (!inLambda()) return;
  const line = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: dimensions });
  for (const [name, unit, value] of values) line.addMetric(name, unit, value);
  line.publishStoredMetrics();
}

/**
 * Counts a generation event for its model.
 *
 * @example
 * recordGenerationMetric(MetricName.GenerationsStarted, item.model);
 */
export function recordGenerationMetric(name: GenerationCounter, model: string, value = 1): void {
  emit({ [MODEL_DIMENSION]: model }, [[name, MetricUnit.Count, value]]);
}

/**
 * How long the provider took, from accepting the job to reporting `completed`.
 *
 * @example
 * recordProviderDuration(item.model, (Date.now() - Date.parse(item.timeline.provider_accepted)) / 1000);
 */
export function recordProviderDuration(model: string, seconds: number): void {
  emit({ [MODEL_DIMENSION]: model }, [[MetricName.ProviderDuration, MetricUnit.Seconds, seconds]]);
}

/**
 * Size of a video copied into the bucket.
 *
 * @example
 * recordBytesCopied(item.model, copied.size_bytes);
 */
export function recordBytesCopied(model: string, bytes: number): void {
  emit({ [MODEL_DIMENSION]: model }, [[MetricName.BytesCopied, MetricUnit.Bytes, bytes]]);
}

/**
 * One webhook delivery attempt; a failed one also counts in CallbackFailures, which
 * the stack alarms on.
 *
 * @example
 * recordCallbackAttempt(result.delivered);
 */
export function recordCallbackAttempt(delivered: boolean): void {
  emit({}, [
    [MetricName.CallbackAttempts, MetricUnit.Count, 1],
    [MetricName.CallbackFailures, MetricUnit.Count, delivered ? 0 : 1],
  ]);
}

/** What admission looks like now: the gauges of the provider queue. */
export interface AdmissionGauges {
  inUse: number;
  limit: number;
  queued: number;
  oldestQueuedSeconds: number;
}

/**
 * Samples the provider queue's gauges (after an admission, a release or a 429).
 *
 * @example
 * recordAdmissionGauges({ inUse: 3, limit: 10, queued: 40, oldestQueuedSeconds: 95 });
 */
export function recordAdmissionGauges(gauges: AdmissionGauges): void {
  emit({}, [
    [MetricName.ProviderSlotsInUse, MetricUnit.Count, gauges.inUse],
    [MetricName.ProviderConcurrencyLimit, MetricUnit.Count, gauges.limit],
    [MetricName.QueueDepth, MetricUnit.Count, gauges.queued],
    [MetricName.OldestQueuedSeconds, MetricUnit.Seconds, gauges.oldestQueuedSeconds],
  ]);
}

/**
 * Counts one event of the provider queue: a 429, or a create sent again.
 *
 * @example
 * recordAdmissionEvent(MetricName.ProviderRateLimited);
 */
export function recordAdmissionEvent(name: typeof MetricName.ProviderRateLimited | typeof MetricName.SubmissionsRepeated): void {
  emit({}, [[name, MetricUnit.Count, 1]]);
}

/**
 * Traces an AWS SDK v3 client's calls as X-Ray subsegments (a no-op where tracing is off).
 *
 * @example
 * const s3 = traceClient(createS3Client());
 */
export function traceClient<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/**
 * Wraps a Lambda handler in a `## <step>` subsegment annotated with cold start, service
 * and the generation id, recording errors (never responses: a record holds a presigned
 * URL). Where tracing is off it calls the handler unchanged.
 *
 * @example
 * export const handler = tracedHandler('status', async (event: StatusInput) => { … });
 */
export function tracedHandler<Args extends unknown[], Result>(
  step: string,
  handler: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  return async (...args) => {
    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (!parent) return handler(...args);
    const subsegment = parent.addNewSubsegment(`## ${step}`);
    tracer.setSegment(subsegment);
    try {
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
      const generationId = (args[0] as { generation_id?: unknown } | null | undefined)?.generation_id;
      if (typeof generationId === 'string') tracer.putAnnotation('generation_id', generationId);
      return await handler(...args);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment.close();
      tracer.setSegment(parent);
    }
  };
}
