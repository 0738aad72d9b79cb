/**
 * Verifying reelhook's webhooks (docs/webhooks.md): Standard Webhooks signatures, checked
 * by the `standardwebhooks` package (constant-time compare, 5 minutes of timestamp
 * tolerance), then the body read as one of the three events.
 */
import { Webhook, WebhookVerificationError as SignatureError } from 'standardwebhooks';
import type { WebhookEvent, WebhookEventType } from './types.js';

export type WebhookVerificationFailure =
  /** webhook-id, webhook-timestamp or webhook-signature is missing. */
  | 'missing_headers'
  /** No signature matches: wrong secret, or the body or headers were changed. */
  | 'invalid_signature'
  /** The timestamp is unreadable or more than 5 minutes off (a replay, or a clock far off). */
  | 'invalid_timestamp'
  /** The secret is not a `whsec_…` secret. */
  | 'invalid_secret'
  /** Signed, but not a reelhook event. */
  | 'invalid_event';

/** The webhook must not be trusted; `reason` says why. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';

  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Request headers as Node's `req.headers`, a fetch `Headers`, or a plain object; names in any case. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const EVENT_TYPES = new Set<string>(['generation.started', 'generation.completed', 'generation.failed'] satisfies WebhookEventType[]);
const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function failureOf(error: SignatureError): WebhookVerificationFailure {
  if (error.message === 'Missing required headers') return 'missing_headers';
  if (error.message === 'No matching signature found') return 'invalid_signature';
  return 'invalid_timestamp';
}

function isEvent(body: unknown): body is WebhookEvent {
  const event = body as Partial<WebhookEvent> | null;
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.type === 'string' &&
    EVENT_TYPES.has(event.type) &&
    typeof event.timestamp === 'string' &&
    typeof event.data === 'object' &&
    event.data !== null
  );
}

/**
 * Verifies a webhook and returns its event, or throws {@link WebhookVerificationError}.
 *
 * @param rawBody the body exactly as received (not re-serialized JSON)
 * @param headers the request headers (webhook-id, webhook-timestamp, webhook-signature)
 * @param secret the API key's `whsec_…` webhook secret
 * @example
 * const event = verifyWebhook(rawBody, req.headers, process.env.REELHOOK_WEBHOOK_SECRET!);
 * if (event.type === 'generation.completed') console.log(event.data.video.url);
 */
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: string): WebhookEvent {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    throw new WebhookVerificationError('invalid_secret', 'the webhook secret must be the whsec_… secret of the API key');
  }
  const signed: Record<string, string> = {};
  for (const name of SIGNATURE_HEADERS) {
    const value = header(headers, name);
    if (value !== undefined) signed[name] = value;
  }
  const payload = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  let body: unknown;
  try {
    body = webhook.verify(payload, signed);
  } catch (error) {
    if (error instanceof SignatureError) throw new WebhookVerificationError(failureOf(error), `webhook not verified: ${error.message}`);
    // A signed body that is not JSON.
    throw new WebhookVerificationError('invalid_event', 'the signed body is not JSON');
  }
  if (!isEvent(body)) throw new WebhookVerificationError('invalid_event', 'the signed body is not a reelhook generation event');
  return body;
}
