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

/** REELHOOK_RECORD_TTL_DAYS: days a new generation record is kept (DynamoDB TTL); unset keeps records until deleted. */
export function recordTtlDays(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env.REELHOOK_RECORD_TTL_DAYS;
  if (raw === undefined || raw === '') return null;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error('REELHOOK_RECORD_TTL_DAYS must be a whole number of days, at least 1');
  return value;
}
