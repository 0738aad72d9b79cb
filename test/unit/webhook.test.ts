import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '#shared/api-keys.js';
import { deliverWebhook, nextRetryDelaySeconds, parseRetryAfter, RETRY_SCHEDULE_SECONDS, signWebhook } from '#shared/webhook.js';

describe('signWebhook', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ type: 'generation.completed', data: { id: 'gen_1' } });

  it('produces headers the standardwebhooks package verifies', () => {
    const headers = signWebhook([secret], 'msg_1', new Date(), body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('fails verification for a tampered body or a stale timestamp', () => {
    const headers = signWebhook([secret], 'msg_1', new Date(), body);
    expect(() => new Webhook(secret).verify(body.replace('gen_1', 'gen_2'), { ...headers })).toThrow();
    const stale = signWebhook([secret], 'msg_1', new Date(Date.now() - 10 * 60_000), body);
    expect(() => new Webhook(secret).verify(body, { ...stale })).toThrow();
  });

  it('sends one signature per secret so receivers on either side of a rotation verify', () => {
    const next = newWebhookSecret();
    const headers = signWebhook([secret, next], 'msg_1', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(next).verify(body, { ...headers })).not.toThrow();
  });
});

describe('retry schedule', () => {
  it('follows the schedule with at most 10 % jitter and stops when it is spent', () => {
    expect(nextRetryDelaySeconds(1, null, () => 0)).toBe(5);
    expect(nextRetryDelaySeconds(2, null, () => 1)).toBeCloseTo(330);
    expect(nextRetryDelaySeconds(RETRY_SCHEDULE_SECONDS.length, null)).toBeNull();
  });

  it('keeps trying for at least 24 hours in all', () => {
    const total = RETRY_SCHEDULE_SECONDS.reduce((sum, delay) => sum + delay, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3600);
  });

  it('honours a longer Retry-After', () => {
    expect(nextRetryDelaySeconds(1, 120, () => 0)).toBe(120);
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('deliverWebhook', () => {
  let server: Server;
  let url: string;
  const answers: Array<{ status: number; headers?: Record<string, string>; body?: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const answer = answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = () => deliverWebhook({ url, webhookId: 'msg_1', body: '{}', secrets: [newWebhookSecret()] });

  it('counts a 2xx as delivered', async () => {
    answers.push({ status: 204 });
    expect(await send()).toMatchObject({ delivered: true, statusCode: 204 });
  });

  it('treats a redirect as a failure and does not follow it', async () => {
    answers.push({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    expect(await send()).toMatchObject({ delivered: false, statusCode: 302 });
  });

  it('reports Retry-After on 429 and 503, and 410 as gone', async () => {
    answers.push({ status: 429, headers: { 'retry-after': '3' } });
    expect(await send()).toMatchObject({ delivered: false, retryAfterSeconds: 3 });
    answers.push({ status: 410 });
    expect(await send()).toMatchObject({ delivered: false, gone: true });
  });

  it('reads at most 64 KiB of a large answer', async () => {
    answers.push({ status: 200, body: 'x'.repeat(5 * 1024 * 1024) });
    expect(await send()).toMatchObject({ delivered: true });
  });
});
