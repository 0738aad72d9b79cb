/** verifyWebhook: Standard Webhooks signatures as docs/webhooks.md specifies them, signed here by hand with node:crypto. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationFailure } from '../../client/index.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({
  type: 'generation.completed',
  timestamp: '2026-12-02T21:14:03.120Z',
  data: { id: 'gen_01', status: 'completed', video: { url: 'http://127.0.0.1/v.mp4' } },
});

function sign(signingSecret: string, id: string, timestamp: number, payload: string): string {
  const key = Buffer.from(signingSecret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`).digest('base64')}`;
}

function headersFor(payload: string, options: { signingSecret?: string; timestamp?: number } = {}): Record<string, string> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'Webhook-Id': 'msg_01_completed',
    'Webhook-Timestamp': String(timestamp),
    'Webhook-Signature': sign(options.signingSecret ?? secret, 'msg_01_completed', timestamp, payload),
  };
}

function failureOf(verify: () => unknown): WebhookVerificationFailure {
  try {
    verify();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('expected verification to fail');
}

describe('verifyWebhook', () => {
  it('returns the typed event of a valid webhook, from a string or the raw bytes, with headers in any case', () => {
    const headers = headersFor(body);
    const event = verifyWebhook(body, headers, secret);
    expect(event.type).toBe('generation.completed');
    if (event.type === 'generation.completed') expect(event.data.video.url).toBe('http://127.0.0.1/v.mp4');
    expect(verifyWebhook(new TextEncoder().encode(body), new Headers(headers), secret)).toEqual(event);
  });

  it('accepts either signature during a secret rotation', () => {
    const previous = `whsec_${randomBytes(24).toString('base64')}`;
    const headers = headersFor(body);
    const both = { ...headers, 'Webhook-Signature': `${sign(previous, 'msg_01_completed', Number(headers['Webhook-Timestamp']), body)} ${headers['Webhook-Signature']}` };
    expect(verifyWebhook(body, both, secret).type).toBe('generation.completed');
  });

  it('refuses a tampered body', () => {
    const headers = headersFor(body);
    expect(failureOf(() => verifyWebhook(body.replace('gen_01', 'gen_02'), headers, secret))).toBe('invalid_signature');
  });

  it('refuses a webhook signed with another secret', () => {
    const headers = headersFor(body, { signingSecret: `whsec_${randomBytes(24).toString('base64')}` });
    expect(failureOf(() => verifyWebhook(body, headers, secret))).toBe('invalid_signature');
  });

  it('refuses a stale timestamp even when the signature matches (a replay)', () => {
    const headers = headersFor(body, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(failureOf(() => verifyWebhook(body, headers, secret))).toBe('invalid_timestamp');
  });

  it('refuses missing signature headers and a secret that is not a whsec_ secret', () => {
    const { 'Webhook-Signature': _signature, ...unsigned } = headersFor(body);
    expect(failureOf(() => verifyWebhook(body, unsigned, secret))).toBe('missing_headers');
    expect(failureOf(() => verifyWebhook(body, headersFor(body), ''))).toBe('invalid_secret');
  });

  it('refuses a signed body that is not a reelhook event', () => {
    const other = JSON.stringify({ type: 'invoice.paid', timestamp: 'x', data: {} });
    expect(failureOf(() => verifyWebhook(other, headersFor(other), secret))).toBe('invalid_event');
  });
});
