/**
 * Standard Webhooks delivery (docs/webhooks.md): a signed POST to an address the callback
 * policy allows; a 2xx within 10 s is success, a redirect is a failure (never
 * followed), and at most 64 KiB of the answer is read.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { CallbackRefused, callbackUrlProblem, guardedLookup, hostOf, type CallbackPolicy, type Resolver } from '#shared/webhooks/callback-policy.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Delay before attempt N+1 after N failed attempts (Svix's schedule: immediately,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — a little over 27 h in all).
 */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/** A receiver's Retry-After beyond the schedule's longest step would stall its own delivery for nothing. */
export const MAX_RETRY_AFTER_SECONDS = Math.max(...RETRY_SCHEDULE_SECONDS);

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

/** The secrets of an API key that webhooks are signed with (`keys rotate-secret` keeps the previous one for a while). */
export type WebhookSigningKey = Pick<ApiKeyRecord, 'webhook_secret' | 'previous_webhook_secret' | 'previous_webhook_secret_expires_at'>;

/**
 * The current secret, plus the previous one while it is still valid, so receivers that
 * have not switched yet keep verifying.
 *
 * @example
 * signWebhook(signingSecrets(key), webhookId, new Date(), body);
 */
export function signingSecrets(key: WebhookSigningKey, now: number = Date.now()): string[] {
  const previous = key.previous_webhook_secret;
  const expiresAt = key.previous_webhook_secret_expires_at ? Date.parse(key.previous_webhook_secret_expires_at) : Number.NaN;
  return previous && expiresAt > now ? [key.webhook_secret, previous] : [key.webhook_secret];
}

export interface DeliveryResult {
  delivered: boolean;
  statusCode: number | null;
  /** Seconds the receiver asked us to wait (Retry-After on 429/503). */
  retryAfterSeconds: number | null;
  /** The callback policy refused the target: waiting will not change that. */
  refused: boolean;
  /** What went wrong, for logs; never contains the body or the secret. */
  failure: string | null;
}

export interface DeliveryRequest {
  url: string;
  webhookId: string;
  body: string;
  secrets: readonly string[];
  policy: CallbackPolicy;
  /** How host names are resolved (tests inject one; nothing else connects). */
  resolve?: Resolver;
  now?: Date;
  timeoutMs?: number;
}

const notDelivered = (failure: string, more: Partial<DeliveryResult> = {}): DeliveryResult => ({
  delivered: false,
  statusCode: null,
  retryAfterSeconds: null,
  refused: false,
  failure,
  ...more,
});

export async function deliverWebhook(request: DeliveryRequest): Promise<DeliveryResult> {
  const problem = callbackUrlProblem(request.url, request.policy);
  if (problem) return notDelivered(`callback_url ${problem}`, { refused: true });
  const headers = signWebhook(request.secrets, request.webhookId, request.now ?? new Date(), request.body);
  const signal = AbortSignal.timeout(request.timeoutMs ?? DELIVERY_TIMEOUT_MS);
  let answer: Answer;
  try {
    answer = await post(new URL(request.url), {
      headers: { 'content-type': 'application/json', 'user-agent': 'reelhook-webhooks/1', ...headers },
      body: request.body,
      lookup: guardedLookup(request.policy, request.resolve),
      signal,
    });
  } catch (error) {
    if (error instanceof CallbackRefused) return notDelivered(error.message, { refused: true });
    return notDelivered(signal.aborted ? 'timed out' : 'connection failed');
  }
  const status = answer.status;
  const delivered = status >= 200 && status < 300;
  return {
    delivered,
    statusCode: status,
    retryAfterSeconds: status === 429 || status === 503 ? parseRetryAfter(answer.retryAfter) : null,
    refused: false,
    failure: delivered ? null : `receiver answered ${status}`,
  };
}

interface Answer {
  status: number;
  retryAfter: string | null;
}

interface PostOptions {
  headers: Record<string, string>;
  body: string;
  /** The guarded lookup: the socket connects only to the addresses it checked. */
  lookup: LookupFunction;
  signal: AbortSignal;
}

/**
 * One POST with node:http(s), which never follows redirects and connects through the
 * given lookup (fetch offers no per-request lookup on Node 20). A fresh connection per
 * attempt: no pooled socket outlives the address check it was made under.
 */
function post(url: URL, options: PostOptions): Promise<Answer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = {
    protocol: url.protocol,
    hostname: hostOf(url),
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
    lookup: options.lookup,
    agent: false,
    signal: options.signal,
  };
  return new Promise((resolve, reject) => {
    const outgoing = send(requestOptions, (response) => {
      const answer = { status: response.statusCode ?? 0, retryAfter: headerValue(response, 'retry-after') };
      void drainAtMost(response, MAX_RESPONSE_BYTES).then(() => resolve(answer));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

function headerValue(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name];
  return typeof value === 'string' ? value : null;
}

/** Reads and discards up to `limit` bytes of the answer, then drops the connection. */
async function drainAtMost(response: IncomingMessage, limit: number): Promise<void> {
  let seen = 0;
  try {
    for await (const chunk of response) {
      seen += (chunk as Buffer).length;
      if (seen >= limit) break;
    }
  } catch {
    // A receiver that breaks the connection after answering has still answered.
  }
  response.destroy();
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
 * spent. The jitter is drawn uniformly from 0–10 % *on top* of each planned delay:
 * it spreads the retries of an outage's backlog, and unlike full jitter (0–100 % of
 * the delay) it never shortens the contract's 24 h window. A Retry-After (capped at
 * the longest step) can only lengthen a delay.
 */
export function nextRetryDelaySeconds(
  failedAttempts: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
): number | null {
  const planned = RETRY_SCHEDULE_SECONDS[failedAttempts];
  if (planned === undefined) return null;
  const jittered = planned * (1 + 0.1 * random());
  return Math.max(jittered, Math.min(retryAfterSeconds ?? 0, MAX_RETRY_AFTER_SECONDS));
}
