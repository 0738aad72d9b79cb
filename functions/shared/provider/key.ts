/**
 * The AI/ML API key: from the environment in local mode, from Secrets Manager in AWS
 * (cached by Powertools, so warm invocations do not call Secrets Manager).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

const CACHE_SECONDS = 300;

export async function providerApiKey(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.AIMLAPI_KEY) return env.AIMLAPI_KEY;
  const secretArn = env.AIMLAPI_SECRET_ARN;
  if (!secretArn) throw new Error('AIMLAPI_KEY or AIMLAPI_SECRET_ARN must be set');
  const secret = await getSecret(secretArn, { maxAge: CACHE_SECONDS });
  if (typeof secret !== 'string' || secret.trim() === '') throw new Error('the provider key secret is empty');
  return secret.trim();
}
