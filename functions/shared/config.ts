/**
 * Configuration read once at start-up. Required values fail fast with the
 * variable's name (Powertools' env helpers), never a silent default table name.
 */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';

export const tableName = (): string => getStringFromEnv({ key: 'TABLE_NAME' });
export const bucketName = (): string => getStringFromEnv({ key: 'BUCKET_NAME' });
export const stateMachineArn = (): string => getStringFromEnv({ key: 'STATE_MACHINE_ARN' });
export const providerBaseUrl = (): string =>
  getStringFromEnv({ key: 'AIMLAPI_BASE_URL', defaultValue: 'https://api.aimlapi.com' }).replace(/\/+$/, '');

const DEFAULT_MAX_VIDEO_BYTES = 2 * 1024 ** 3;

export function maxVideoBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.REELHOOK_MAX_VIDEO_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_MAX_VIDEO_BYTES;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error('REELHOOK_MAX_VIDEO_BYTES must be a positive integer');
  return value;
}
