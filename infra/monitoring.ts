import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MODEL_DIMENSION, MetricName, SERVICE_NAME } from '#shared/runtime/observability.js';

const FIVE_MINUTES = Duration.minutes(5);
const FIFTEEN_MINUTES = Duration.minutes(15);
const DEFAULT_QUEUE_WAIT_ALARM = Duration.minutes(30);

/**
 * When each alarm fires, and why there. Failed generations end their execution failed,
 * and the workflow steps throw typed errors by design (ProviderFailed, TimedOut…) that
 * the state machine catches, so one failure is a user's bad prompt, not an incident;
 * several within 15 minutes mean the provider, the key or the copy is broken for all.
 */
const THRESHOLDS = {
  /** Failed executions (= failed generations, cancels included) in 15 minutes. */
  executionsFailed: 5,
  /** Aborted executions in 15 minutes: each cancel stops one, so a few are normal. */
  executionsAborted: 5,
  /** Timed-out executions in 5 minutes: the 7-day backstop should never fire. */
  executionsTimedOut: 1,
  /** Throttled state transitions in 5 minutes: the account's Step Functions quota is hit. */
  executionsThrottled: 1,
  /** Failed webhook attempts in 15 minutes: one broken receiver makes at most 3 in that time. */
  callbackFailures: 10,
  /** Errors of one function in 15 minutes (see above). */
  functionErrors: 5,
  /** Throttled invocations of one function in 5 minutes: the concurrency limit is hit. */
  functionThrottles: 1,
  /** 5xx answers of the HTTP API in 5 minutes. */
  apiServerErrors: 5,
} as const;

export interface ReelhookMonitoringProps {
  readonly stateMachine: IStateMachine;
  /** The functions to watch, by the name shown in alarms and on the dashboard. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly httpApi: IHttpApi;
  /** Where requested generations that could not be started end up. */
  readonly deadLetterQueue: IQueue;
  /**
   * Alarm when the oldest generation waiting for a provider slot has waited this long.
   * @default Duration.minutes(30)
   */
  readonly queueWaitAlarm?: Duration;
  /**
   * What to do when an alarm fires (e.g. an `SnsAction`).
   * @default no action: alarms show in the console and on the dashboard only
   */
  readonly alarmAction?: IAlarmAction;
}

/**
 * Alarms and a CloudWatch dashboard for reelhook: executions failed, timed out,
 * throttled or aborted; webhook failures (the `CallbackFailures` metric notify emits);
 * errors and throttles of each function; 5xx from the API; requests that reached the
 * dead-letter queue. Generations, provider time, polls, copied bytes and webhook
 * attempts by model are graphed from the Powertools metrics.
 *
 * @example
 * new ReelhookMonitoring(this, 'Monitoring', { stateMachine, functions, httpApi, deadLetterQueue,
 *   alarmAction: new SnsAction(pagerTopic) });
 */
export class ReelhookMonitoring extends Construct {
  public readonly alarms: readonly Alarm[];
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ReelhookMonitoringProps) {
    super(scope, id);

    const { stateMachine, httpApi, deadLetterQueue } = props;
    const alarms: Alarm[] = [];
    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing happened, which is healthy.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `reelhook: ${description}`,
      });
      if (props.alarmAction) created.addAlarmAction(props.alarmAction);
      alarms.push(created);
      return created;
    };
    const sum = (metric: Metric, period: Duration) => metric.with({ statistic: Stats.SUM, period });

    alarm(
      'ExecutionsFailed',
      sum(stateMachine.metricFailed(), FIFTEEN_MINUTES),
      THRESHOLDS.executionsFailed,
      'generations are failing; the records show which error (ProviderRejected: check the key; ProviderUnavailable: the provider; CopyFailed: the bucket)',
    );
    alarm(
      'ExecutionsTimedOut',
      sum(stateMachine.metricTimedOut(), FIVE_MINUTES),
      THRESHOLDS.executionsTimedOut,
      'an execution ran past the 7-day backstop: a bug left it waiting',
    );
    alarm(
      'ExecutionsThrottled',
      sum(stateMachine.metricThrottled(), FIVE_MINUTES),
      THRESHOLDS.executionsThrottled,
      'Step Functions throttled state transitions: raise the account quota',
    );
    alarm(
      'ExecutionsAborted',
      sum(stateMachine.metricAborted(), FIFTEEN_MINUTES),
      THRESHOLDS.executionsAborted,
      'many executions were stopped: more cancels than usual, or someone stopping executions by hand',
    );
    alarm(
      'CallbackFailures',
      this.serviceMetric(MetricName.CallbackFailures, Stats.SUM, FIFTEEN_MINUTES),
      THRESHOLDS.callbackFailures,
      'webhook deliveries are failing (receivers down, or signing broken); deliveries keep retrying',
    );
    alarm(
      'QueueWaitTooLong',
      this.serviceMetric(MetricName.OldestQueuedSeconds, Stats.MAXIMUM, FIVE_MINUTES),
      (props.queueWaitAlarm ?? DEFAULT_QUEUE_WAIT_ALARM).toSeconds(),
      'generations wait long for a provider slot: the provider account is at its concurrency cap (raise it, or providerConcurrency if set too low)',
    );
    alarm(
      'ApiServerErrors',
      sum(httpApi.metricServerError(), FIVE_MINUTES),
      THRESHOLDS.apiServerErrors,
      'the HTTP API answers 5xx',
    );
    alarm(
      'RequestsDeadLettered',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: FIVE_MINUTES }),
      1,
      'a Video Generation Requested event could not be started: inspect the dead-letter queue',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(
        `${title}Errors`,
        sum(fn.metricErrors(), FIFTEEN_MINUTES),
        THRESHOLDS.functionErrors,
        `the ${name} function keeps failing: see its log group`,
      );
      alarm(
        `${title}Throttles`,
        sum(fn.metricThrottles(), FIVE_MINUTES),
        THRESHOLDS.functionThrottles,
        `the ${name} function is throttled: raise the account's Lambda concurrency`,
      );
    }
    this.alarms = alarms;

    const functions = Object.entries(props.functions);
    const perFunction = (metric: (fn: IFunction) => Metric) =>
      functions.map(([name, fn]) => metric(fn).with({ label: name }));
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 8, height: 6, period: FIVE_MINUTES });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new TextWidget({
            markdown:
              '# reelhook\nGenerations submitted, polled, copied and delivered. Metrics by model come from ' +
              `the functions' Powertools metrics (namespace \`${METRICS_NAMESPACE}\`).`,
            width: 24,
            height: 2,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 })],
        [
          graph('Executions', [
            stateMachine.metricStarted({ statistic: Stats.SUM, label: 'started' }),
            stateMachine.metricSucceeded({ statistic: Stats.SUM, label: 'succeeded' }),
            stateMachine.metricFailed({ statistic: Stats.SUM, label: 'failed' }),
            stateMachine.metricAborted({ statistic: Stats.SUM, label: 'aborted' }),
            stateMachine.metricTimedOut({ statistic: Stats.SUM, label: 'timed out' }),
            stateMachine.metricThrottled({ statistic: Stats.SUM, label: 'throttled' }),
          ]),
          graph('Generations by model', [
            this.byModel(MetricName.GenerationsStarted, Stats.SUM, 'started'),
            this.byModel(MetricName.GenerationsCompleted, Stats.SUM, 'completed'),
            this.byModel(MetricName.GenerationsFailed, Stats.SUM, 'failed'),
          ]),
          graph(
            'Provider time (s, p50 / p90) and polls by model',
            [
              this.byModel(MetricName.ProviderDuration, Stats.p(50), 'p50'),
              this.byModel(MetricName.ProviderDuration, Stats.p(90), 'p90'),
            ],
            [this.byModel(MetricName.ProviderPolls, Stats.SUM, 'polls')],
          ),
        ],
        [
          graph('Bytes copied', [this.byModel(MetricName.BytesCopied, Stats.SUM, 'bytes')]),
          graph('Webhook attempts and failures', [
            this.serviceMetric(MetricName.CallbackAttempts, Stats.SUM, FIVE_MINUTES).with({ label: 'attempts' }),
            this.serviceMetric(MetricName.CallbackFailures, Stats.SUM, FIVE_MINUTES).with({ label: 'failures' }),
          ]),
          graph(
            'HTTP API',
            [
              httpApi.metricCount({ statistic: Stats.SUM, label: 'requests' }),
              httpApi.metricClientError({ statistic: Stats.SUM, label: '4xx' }),
              httpApi.metricServerError({ statistic: Stats.SUM, label: '5xx' }),
            ],
            [httpApi.metricLatency({ statistic: Stats.p(90), label: 'latency p90 (ms)' })],
          ),
        ],
        [
          graph(
            'Provider slots in use vs limit',
            [
              this.serviceMetric(MetricName.ProviderSlotsInUse, Stats.MAXIMUM, FIVE_MINUTES).with({ label: 'in use' }),
              this.serviceMetric(MetricName.ProviderConcurrencyLimit, Stats.MINIMUM, FIVE_MINUTES).with({ label: 'limit' }),
            ],
            [this.serviceMetric(MetricName.ProviderRateLimited, Stats.SUM, FIVE_MINUTES).with({ label: 'provider 429s' })],
          ),
          graph(
            'Queued generations',
            [this.serviceMetric(MetricName.QueueDepth, Stats.MAXIMUM, FIVE_MINUTES).with({ label: 'queued' })],
            [this.serviceMetric(MetricName.OldestQueuedSeconds, Stats.MAXIMUM, FIVE_MINUTES).with({ label: 'oldest wait (s)' })],
          ),
          graph('Repeated submissions (a create cut off, sent again)', [
            this.serviceMetric(MetricName.SubmissionsRepeated, Stats.SUM, FIVE_MINUTES).with({ label: 'repeated' }),
          ]),
        ],
        [
          graph('Function errors', perFunction((fn) => fn.metricErrors({ statistic: Stats.SUM }))),
          graph('Function duration p90 (ms)', perFunction((fn) => fn.metricDuration({ statistic: Stats.p(90) }))),
          graph(
            'Function throttles and dead-lettered requests',
            perFunction((fn) => fn.metricThrottles({ statistic: Stats.SUM })),
            [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead-lettered requests' })],
          ),
        ],
      ],
    });
  }

  /** A metric the functions emit with the `service` dimension only. */
  private serviceMetric(name: MetricName, statistic: string, period: Duration): Metric {
    return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service: SERVICE_NAME }, statistic, period });
  }

  /** One line per model: the per-generation metrics carry a `model` dimension. */
  private byModel(name: MetricName, statistic: string, label: string): MathExpression {
    return new MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${MODEL_DIMENSION},service} MetricName="${name}"', '${statistic}', 300)`,
      label,
      period: FIVE_MINUTES,
    });
  }
}
