/**
 * A Secrets Manager stand-in for tests: `GetSecretValue` over the AWS JSON 1.1 protocol
 * that `@aws-sdk/client-secrets-manager` (and so Powertools' `getSecret`) speaks, on
 * 127.0.0.1. Secrets are found by ARN or by name, as the service finds them; every
 * request's SecretId is kept, so a test can count what reached the service.
 *
 * @example
 * const sm = await startSecretsManager([{ arn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:k-AbCdEf', name: 'k', value: 'v' }]);
 * process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
 */
import { AwsJsonError, startAwsJsonServer } from '../../local/aws-json-protocol.js';

export interface StoredSecret {
  arn: string;
  name: string;
  value: string;
}

export interface SecretsManagerStandIn {
  endpoint: string;
  /** The SecretId of every GetSecretValue received, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startSecretsManager(secrets: readonly StoredSecret[]): Promise<SecretsManagerStandIn> {
  const requests: string[] = [];
  const server = await startAwsJsonServer({
    protocolVersion: '1.1',
    targetPrefix: 'secretsmanager',
    operations: {
      GetSecretValue: (request) => {
        const id = request.SecretId;
        if (typeof id !== 'string' || id === '') throw new AwsJsonError('InvalidParameterException', 'SecretId is required.');
        requests.push(id);
        const secret = secrets.find((candidate) => candidate.arn === id || candidate.name === id);
        if (!secret) throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: '00000000-0000-4000-8000-000000000001',
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1_700_000_000,
        };
      },
    },
    maxBodyBytes: 64 * 1024,
    bodyTooLarge: { type: 'InvalidRequestException', message: 'Request too large', statusCode: 413 },
    internalError: { type: 'InternalServiceError', message: 'Local Secrets Manager failed' },
  });
  return { endpoint: server.endpoint, requests, close: () => server.close() };
}
