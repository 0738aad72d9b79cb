import { HttpApi, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface ReelhookHttpApiProps {
  /** The function that answers every request (it does its own routing under `/v2`). */
  readonly handler: IFunction;
}

/**
 * The public HTTP API: one `$default` route to the API function, payload format 2.0,
 * so paths, auth and errors are handled in one place that also runs locally.
 *
 * @example
 * const api = new ReelhookHttpApi(this, 'Api', { handler: apiFunction });
 * new CfnOutput(this, 'ApiUrl', { value: api.httpApi.apiEndpoint });
 */
export class ReelhookHttpApi extends Construct {
  public readonly httpApi: HttpApi;

  constructor(scope: Construct, id: string, props: ReelhookHttpApiProps) {
    super(scope, id);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'reelhook: text-to-video generations with signed webhooks',
      defaultIntegration: new HttpLambdaIntegration('Api', props.handler, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
  }
}
