/**
 * Per-key rate limit: a fixed one-minute window counted in DynamoDB with an atomic
 * ADD on `RATE#<key id>#<minute>`, so every Lambda instance (and dynalite locally)
 * shares one count. Over the limit → 429 `RateLimited` with `Retry-After` set to the
 * seconds left in the window.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Env } from '#shared/facts.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { ApiErrorWithHeaders } from './http.js';

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
const WINDOW_MS = 60_000;
/** Counters outlive their window a little, then DynamoDB's TTL removes them. */
const COUNTER_RETENTION_SECONDS = 3600;

/** REELHOOK_RATE_LIMIT_PER_MINUTE: requests per key per minute; 0 disables the limit. Fails fast on a bad value. */
export function rateLimitPerMinuteFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[Env.RateLimitPerMinute];
  if (raw === undefined || raw === '') return DEFAULT_RATE_LIMIT_PER_MINUTE;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`REELHOOK_RATE_LIMIT_PER_MINUTE must be a non-negative integer (got "${raw}")`);
  }
  return value;
}

export class RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly limitPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `keyId`; throws RateLimited when it is over the limit. */
  async take(keyId: string): Promise<void> {
    if (this.limitPerMinute === 0) return;
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `RATE#${keyId}#${window}` },
        UpdateExpression: 'ADD #hits :one SET #expires = :expires',
        ExpressionAttributeNames: { '#hits': 'hits', '#expires': TableLayout.ttlAttribute },
        ExpressionAttributeValues: { ':one': 1, ':expires': Math.floor(now / 1000) + COUNTER_RETENTION_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const hits = Number(Attributes?.hits ?? 0);
    if (hits <= this.limitPerMinute) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    throw new ApiErrorWithHeaders(
      'RateLimited',
      `more than ${this.limitPerMinute} requests in one minute with this API key; retry after ${retryAfterSeconds} s`,
      { 'retry-after': String(retryAfterSeconds) },
      { limit_per_minute: this.limitPerMinute, retry_after_seconds: retryAfterSeconds },
    );
  }
}
