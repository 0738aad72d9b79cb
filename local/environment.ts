import { Env } from '#shared/facts.js';

/**
 * The AWS SDK settings that point every client of the process at the local
 * stand-ins. The SDK reads them itself, so handler code is the code that runs in AWS.
 */
export function localAwsEnvironment(endpoints: { dynamoDbEndpoint: string; s3Endpoint: string; region: string }): Record<string, string> {
  return {
    AWS_REGION: endpoints.region,
    AWS_DEFAULT_REGION: endpoints.region,
    // s3rver accepts only this key pair; dynalite and the Step Functions stand-in accept any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_S3: endpoints.s3Endpoint,
    [Env.S3ForcePathStyle]: 'true',
    // With the SDK's default CRC32 trailers s3rver stores the chunk framing inside objects.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}
