/**
 * The AI/ML API key: from the environment in local mode, from Secrets Manager in AWS
 * (cached by Powertools, so warm invocations do not call Secrets Manager).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { Env } from '#shared/facts.js';

const CACHE_SECONDS = 300;

export async function providerApiKey(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = env[Env.ProviderKey];
  if (key) return key;
  const secretArn = env[Env.ProviderSecretArn];
  if (!secretArn) throw new Error(`${Env.ProviderKey} or ${Env.ProviderSecretArn} must be set`);
  const secret = await getSecret(secretArn, { maxAge: CACHE_SECONDS });
  if (typeof secret !== 'string' || secret.trim() === '') throw new Error('the provider key secret is empty');
  return secret.trim();
}
