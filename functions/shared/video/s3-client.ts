import { S3Client } from '@aws-sdk/client-s3';
import { Env } from '#shared/facts.js';
import { traceClient } from '#shared/runtime/observability.js';

/**
 * Builds the S3 client the handlers use. In AWS, defaults. Locally, reelhook sets
 * AWS_ENDPOINT_URL_S3 and REELHOOK_S3_FORCE_PATH_STYLE=true; checksum options come from
 * AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION which the SDK reads
 * itself.
 *
 * Only the endpoint and the addressing style are taken from `env`: region, credentials
 * and the checksum settings always come from the SDK's own lookup in `process.env`.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3;
  return traceClient(
    new S3Client({
      ...(endpoint ? { endpoint } : {}),
      // The local S3 stand-in cannot serve bucket-named hostnames, so local mode asks for paths.
      forcePathStyle: env[Env.S3ForcePathStyle] === 'true',
    }),
  );
}
