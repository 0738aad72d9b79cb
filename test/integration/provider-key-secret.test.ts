/**
 * The provider key as the deployed create and status functions read it: AIMLAPI_KEY
 * unset, the secret named by AIMLAPI_SECRET_ARN fetched through Powertools' getSecret
 * (and so @aws-sdk/client-secrets-manager) from a Secrets Manager stand-in on loopback.
 * Local mode always sets AIMLAPI_KEY, so nothing else exercises this branch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerApiKey } from '#shared/provider/key.js';
import { startSecretsManager, type SecretsManagerStandIn } from '../support/secrets-manager.js';

const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const KEY = 'aiml_live_0123456789abcdef';

let secrets: SecretsManagerStandIn;

beforeAll(async () => {
  secrets = await startSecretsManager([
    // Pasted into the console with a trailing newline, as operators do.
    { arn: arn('reelhook/provider'), name: 'reelhook/provider', value: `${KEY}\n` },
    { arn: arn('reelhook/empty'), name: 'reelhook/empty', value: '  ' },
  ]);
  // What Lambda gives the function: a region and a role's credentials; the SDK finds the endpoint here.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: 'token',
  });
  delete process.env.AIMLAPI_KEY;
});

afterAll(async () => {
  await secrets?.close();
});

describe('the provider key in AWS', () => {
  it('is read from the secret AIMLAPI_SECRET_ARN names when AIMLAPI_KEY is unset, without surrounding whitespace', async () => {
    expect(await providerApiKey({ AIMLAPI_SECRET_ARN: arn('reelhook/provider') })).toBe(KEY);
    expect(secrets.requests).toEqual([arn('reelhook/provider')]);
  });

  it('is served from the cache to warm invocations, without calling Secrets Manager again', async () => {
    const before = secrets.requests.length;
    expect(await providerApiKey({ AIMLAPI_SECRET_ARN: arn('reelhook/provider') })).toBe(KEY);
    expect(secrets.requests.length).toBe(before);
  });

  it('fails clearly for a secret that is still empty, and for one that does not exist', async () => {
    await expect(providerApiKey({ AIMLAPI_SECRET_ARN: arn('reelhook/empty') })).rejects.toThrow('the provider key secret is empty');
    await expect(providerApiKey({ AIMLAPI_SECRET_ARN: arn('reelhook/missing') })).rejects.toThrow(/can't find the specified secret/);
  });

  it('needs one of the two variables', async () => {
    await expect(providerApiKey({})).rejects.toThrow('AIMLAPI_KEY or AIMLAPI_SECRET_ARN must be set');
  });
});
