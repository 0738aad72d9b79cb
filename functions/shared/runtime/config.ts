/**
 * Configuration read once at start-up. Required values fail fast with the
 * variable's name (Powertools' env helpers), never a silent default table name.
 */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { DEFAULT_MAX_VIDEO_BYTES, DEFAULT_PROVIDER_BASE_URL, Env } from '#shared/facts.js';

export const tableName = (): string => getStringFromEnv({ key: Env.TableName });
export const bucketName = (): string => getStringFromEnv({ key: Env.BucketName });
export const stateMachineArn = (): string => getStringFromEnv({ key: Env.StateMachineArn });
export const providerBaseUrl = (): string =>
  getStringFromEnv({ key: Env.ProviderBaseUrl, defaultValue: DEFAULT_PROVIDER_BASE_URL }).replace(/\/+$/, '');

export function maxVideoBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[Env.MaxVideoBytes];
  if (raw === undefined || raw === '') return DEFAULT_MAX_VIDEO_BYTES;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error('REELHOOK_MAX_VIDEO_BYTES must be a positive integer');
  return value;
}

/** REELHOOK_RECORD_TTL_DAYS: days a new generation record is kept (DynamoDB TTL); unset keeps records until deleted. */
export function recordTtlDays(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env[Env.RecordTtlDays];
  if (raw === undefined || raw === '') return null;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error('REELHOOK_RECORD_TTL_DAYS must be a whole number of days, at least 1');
  return value;
}
