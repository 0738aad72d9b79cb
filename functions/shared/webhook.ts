/**
 * Standard Webhooks delivery (CONTRACT.md §3): signed POST, 2xx within 10 s is
 * success, redirects are failures, and at most 64 KiB of the answer is read.
 */
import { Webhook } from 'standardwebhooks';

export const DELIVERY_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Delay before attempt N+1 after N failed attempts (Svix's schedule: immediately,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — a little over 27 h in all).
 */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** One `v1,` signature per secret, space-separated: during a rotation receivers accept either. */
export function signWebhook(secrets: readonly string[], webhookId: string, at: Date, body: string): SignedHeaders {
  const signatures = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

export interface DeliveryResult {
  delivered: boolean;
  statusCode: number | null;
  /** Seconds the receiver asked us to wait (Retry-After on 429/503). */
  retryAfterSeconds: number | null;
  /** The receiver said never again (410 Gone). */
  gone: boolean;
  /** What went wrong, for logs; never contains the body or the secret. */
  failure: string | null;
}

export interface DeliveryRequest {
  url: string;
  webhookId: string;
  body: string;
  secrets: readonly string[];
  now?: Date;
  timeoutMs?: number;
}

export async function deliverWebhook(request: DeliveryRequest): Promise<DeliveryResult> {
  const headers = signWebhook(request.secrets, request.webhookId, request.now ?? new Date(), request.body);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'reelhook-webhooks/1', ...headers },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs ?? DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'connection failed';
    return { delivered: false, statusCode: null, retryAfterSeconds: null, gone: false, failure: reason };
  }
  await drainAtMost(response, MAX_RESPONSE_BYTES);
  const status = response.status;
  const delivered = status >= 200 && status < 300;
  return {
    delivered,
    statusCode: status,
    retryAfterSeconds: status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : null,
    gone: status === 410,
    failure: delivered ? null : `receiver answered ${status}`,
  };
}

/** Reads and discards up to `limit` bytes so the connection can be reused, then stops. */
async function drainAtMost(response: Response, limit: number): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let seen = 0;
  try {
    while (seen < limit) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A receiver that breaks the connection after answering has still answered.
  }
}

export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * When to try again after `failedAttempts` failures, or null when the schedule is
 * spent. Jitter of 0–10 % on top keeps receivers recovering from an outage from
 * being hit by every sender at once, without ever shortening the 24 h window.
 */
export function nextRetryDelaySeconds(
  failedAttempts: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
): number | null {
  const planned = RETRY_SCHEDULE_SECONDS[failedAttempts];
  if (planned === undefined) return null;
  const jittered = planned * (1 + 0.1 * random());
  return Math.max(jittered, retryAfterSeconds ?? 0);
}
