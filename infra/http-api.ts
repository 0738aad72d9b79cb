import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpStage, LogGroupLogDestination, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface ReelhookHttpApiProps {
  /** The function that answers every request (it does its own routing under `/v2`). */
  readonly handler: IFunction;
  /**
   * Retention of the access logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The public HTTP API: one `$default` route to the API function, payload format 2.0,
 * so paths, auth and errors are handled in one place that also runs locally; access
 * logs of the `$default` stage go to their own log group as JSON lines.
 *
 * @example
 * const api = new ReelhookHttpApi(this, 'Api', { handler: apiFunction });
 * new CfnOutput(this, 'ApiUrl', { value: api.httpApi.apiEndpoint });
 */
export class ReelhookHttpApi extends Construct {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly accessLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ReelhookHttpApiProps) {
    super(scope, id);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'reelhook: text-to-video generations with signed webhooks',
      defaultIntegration: new HttpLambdaIntegration('Api', props.handler, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
      // Created below, with access logging, which the default stage cannot be given.
      createDefaultStage: false,
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        // Never headers: the bearer key stays out of the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTimeEpoch',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Authorization is done by the api function itself, on every route but GET /healthz: it hashes the ' +
        '`Authorization: Bearer rk_…` key with SHA-256, looks the hash up in the table (revoked keys refused) ' +
        'and answers 401 before any other work; the key also scopes every record to its tenant. A Lambda ' +
        'authorizer would repeat that lookup, and the same check runs unchanged in local mode.',
    });
  }
}
