import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '#shared/auth/api-keys.js';
import type { Resolver } from '#shared/webhooks/callback-policy.js';
import {
  deliverWebhook,
  MAX_RETRY_AFTER_SECONDS,
  nextRetryDelaySeconds,
  parseRetryAfter,
  RETRY_SCHEDULE_SECONDS,
  signingSecrets,
  signWebhook,
} from '#shared/webhooks/delivery.js';

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

  it('fails verification with another secret', () => {
    const headers = signWebhook([secret], 'msg_1', new Date(), body);
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it('sends one signature per secret so receivers on either side of a rotation verify', () => {
    const next = newWebhookSecret();
    const headers = signWebhook([secret, next], 'msg_1', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(next).verify(body, { ...headers })).not.toThrow();
  });
});

describe('signingSecrets', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const current = newWebhookSecret();
  const previous = newWebhookSecret();

  it('signs with the current secret alone when there is no rotation', () => {
    expect(signingSecrets({ webhook_secret: current, previous_webhook_secret: null, previous_webhook_secret_expires_at: null }, now)).toEqual([current]);
  });

  it('signs with both secrets while the previous one is valid, and verifies with either', () => {
    const key = { webhook_secret: current, previous_webhook_secret: previous, previous_webhook_secret_expires_at: '2026-01-01T12:00:00Z' };
    const secrets = signingSecrets(key, now);
    expect(secrets).toEqual([current, previous]);
    const body = '{"type":"generation.completed"}';
    const headers = signWebhook(secrets, 'msg_rot', new Date(), body);
    expect(() => new Webhook(previous).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(current).verify(body, { ...headers })).not.toThrow();
  });

  it('drops the previous secret once it has expired', () => {
    const key = { webhook_secret: current, previous_webhook_secret: previous, previous_webhook_secret_expires_at: '2025-12-31T23:59:59Z' };
    expect(signingSecrets(key, now)).toEqual([current]);
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

  it('never waits longer than the longest step for a Retry-After', () => {
    expect(nextRetryDelaySeconds(1, 30 * 24 * 3600, () => 0)).toBe(MAX_RETRY_AFTER_SECONDS);
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
  let port: number;
  let url: string;
  let connections = 0;
  const requests: Array<{ path: string; host: string | undefined }> = [];
  const answers: Array<{ status: number; headers?: Record<string, string>; body?: string; never?: boolean }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ path: req.url ?? '/', host: req.headers.host });
      req.resume();
      const answer = answers.shift() ?? { status: 200 };
      if (answer.never) return;
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
    server.on('connection', () => (connections += 1));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}/hook`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  const send = (target = url, more: { policy?: 'local' | 'public'; resolve?: Resolver; timeoutMs?: number } = {}) =>
    deliverWebhook({ url: target, webhookId: 'msg_1', body: '{}', secrets: [newWebhookSecret()], policy: 'local', ...more });

  it('counts a 2xx as delivered and sends the signed headers', async () => {
    answers.push({ status: 204 });
    expect(await send()).toMatchObject({ delivered: true, statusCode: 204, refused: false });
  });

  it('treats a redirect as a failure and does not follow it', async () => {
    answers.push({ status: 302, headers: { location: `http://127.0.0.1:${port}/elsewhere` } });
    expect(await send()).toMatchObject({ delivered: false, statusCode: 302, failure: 'receiver answered 302' });
    expect(requests.some((request) => request.path === '/elsewhere')).toBe(false);
  });

  it('reports Retry-After on 429 and 503', async () => {
    answers.push({ status: 429, headers: { 'retry-after': '3' } });
    expect(await send()).toMatchObject({ delivered: false, retryAfterSeconds: 3 });
    answers.push({ status: 503, headers: { 'retry-after': '9' } });
    expect(await send()).toMatchObject({ delivered: false, retryAfterSeconds: 9 });
    answers.push({ status: 410 });
    expect(await send()).toMatchObject({ delivered: false, statusCode: 410, retryAfterSeconds: null });
  });

  it('reads at most 64 KiB of a large answer', async () => {
    answers.push({ status: 200, body: 'x'.repeat(5 * 1024 * 1024) });
    expect(await send()).toMatchObject({ delivered: true });
  });

  it('gives up on a receiver that does not answer in time', async () => {
    answers.push({ status: 200, never: true });
    expect(await send(url, { timeoutMs: 200 })).toMatchObject({ delivered: false, statusCode: null, failure: 'timed out', refused: false });
  });

  it('reports a refused connection as a retryable failure', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await send(`http://127.0.0.1:${closedPort}/hook`)).toMatchObject({ delivered: false, refused: false, failure: 'connection failed' });
  });

  it('connects to the address its lookup checked, under the name of the URL', async () => {
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    expect(await send(`http://receiver.test:${port}/named`, { resolve })).toMatchObject({ delivered: true });
    expect(requests.at(-1)).toEqual({ path: '/named', host: `receiver.test:${port}` });
  });

  it('refuses, without connecting, a name that resolves to loopback under the public policy', async () => {
    const before = connections;
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const result = await send(`http://receiver.test:${port}/hook`, { policy: 'public', resolve });
    expect(result).toMatchObject({ delivered: false, refused: true, statusCode: null });
    // Under the public policy even the scheme is refused first; over https the address is.
    const overHttps = await send(`https://receiver.test:${port}/hook`, { policy: 'public', resolve });
    expect(overHttps).toMatchObject({ refused: true, failure: 'receiver.test resolves to 127.0.0.1 (loopback)' });
    expect(connections).toBe(before);
  });

  it('refuses a hostile literal address without resolving or connecting', async () => {
    const before = connections;
    let resolutions = 0;
    const resolve: Resolver = async () => {
      resolutions += 1;
      return [];
    };
    for (const target of ['https://169.254.169.254/latest', 'https://[::ffff:127.0.0.1]/', 'https://0x7f000001/', 'http://10.0.0.1/']) {
      expect(await send(target, { policy: 'public', resolve })).toMatchObject({ delivered: false, refused: true });
    }
    expect(resolutions).toBe(0);
    expect(connections).toBe(before);
  });
});
