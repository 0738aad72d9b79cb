/**
 * How local/dashboard.ts serves the built page: content types, cache headers, and
 * nothing but the page and its hashed assets (everything else falls through to the API).
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard } from '../../local/dashboard.js';

/** What the stand-in for the API answers when the dashboard passes a request on. */
const PASSED_ON = 299;

let root: string;
let server: Server;
let baseUrl: string;

async function serve(dashboardRoot: string): Promise<{ server: Server; url: string }> {
  const dashboard = createDashboard(dashboardRoot);
  const started = createServer((req, res) => {
    void dashboard(req, res).then((handled) => {
      if (!handled) res.writeHead(PASSED_ON).end('api');
    });
  });
  started.listen(0, '127.0.0.1');
  await once(started, 'listening');
  return { server: started, url: `http://127.0.0.1:${(started.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reelhook-dashboard-dist-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>reelhook</title>');
  await writeFile(join(root, 'assets', 'index-abc123.js'), 'console.log(1);');
  await writeFile(join(root, 'assets', 'index-abc123.css'), 'body{}');
  await writeFile(join(root, 'secret.txt'), 'not served');
  ({ server, url: baseUrl } = await serve(root));
});

afterAll(async () => {
  server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('the dashboard server', () => {
  it('serves the page for revalidation on every load, with a content security policy', async () => {
    const response = await fetch(`${baseUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>reelhook</title>');

    const again = await fetch(`${baseUrl}/`, { headers: { 'if-none-match': response.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets with their content types, cached for good', async () => {
    for (const [name, type] of [
      ['index-abc123.js', 'text/javascript; charset=utf-8'],
      ['index-abc123.css', 'text/css; charset=utf-8'],
    ] as const) {
      const response = await fetch(`${baseUrl}/assets/${name}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const head = await fetch(`${baseUrl}/assets/index-abc123.js`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('15');
    expect(await head.text()).toBe('');
  });

  it('answers 404 for a missing asset and passes every other request on to the API', async () => {
    expect((await fetch(`${baseUrl}/assets/missing.js`)).status).toBe(404);
    for (const path of ['/secret.txt', '/index.html', '/assets/..%2Fsecret.txt', '/assets/.hidden', '/v2/video/generations', '/healthz']) {
      expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(PASSED_ON);
    }
    expect((await fetch(`${baseUrl}/`, { method: 'POST', body: '{}' })).status).toBe(PASSED_ON);
  });

  it('says how to build the page when it is not built', async () => {
    const unbuilt = await serve(join(root, 'not-built'));
    try {
      const response = await fetch(`${unbuilt.url}/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('npm run build:web');
    } finally {
      unbuilt.server.close();
    }
  });
});
