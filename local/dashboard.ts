/**
 * Serves the dashboard's built assets (`web/dist`, made by `npm run build:web`, which
 * `npm ci` runs through the `prepare` script). The page holds no secret: it asks for
 * the API key and reads everything through the public HTTP API.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve } from 'node:path';

export const DASHBOARD_DIST = resolve(import.meta.dirname, '..', 'web', 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** Vite names every file under assets/ after its content hash: a new build gets new names. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page names the current assets, so it is revalidated on every load. */
const REVALIDATE = 'no-cache';

/**
 * Scripts and styles only from this server; videos come from the time-limited URLs the
 * API returns (the S3 stand-in locally); data only from this server's API.
 */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' http: https:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Video URLs carry signatures; the page address is not worth leaking either.
  'referrer-policy': 'no-referrer',
};

/** Hashed file names only: no folders, no dot files, so nothing outside assets/ is reachable. */
const ASSET_PATH = /^\/assets\/[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

interface Target {
  file: string;
  cacheControl: string;
  isPage: boolean;
}

/** Which file a request path names, or null when the path is not the dashboard's. */
function targetOf(path: string, root: string): Target | null {
  if (path === '/') return { file: join(root, 'index.html'), cacheControl: REVALIDATE, isPage: true };
  if (path === '/favicon.ico') return { file: join(root, 'favicon.ico'), cacheControl: 'public, max-age=86400', isPage: false };
  if (ASSET_PATH.test(path)) return { file: join(root, path), cacheControl: IMMUTABLE, isPage: false };
  return null;
}

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Answers GET and HEAD for `/`, `/assets/*` and `/favicon.ico` from `root`, and returns
 * false for every other request so the API handles it. Never rejects.
 */
export function createDashboard(root: string = DASHBOARD_DIST): DashboardHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const target = targetOf(path, root);
    if (!target) return false;

    const info = await stat(target.file).catch(() => null);
    if (!info?.isFile()) {
      if (target.isPage) {
        sendText(res, 503, 'The dashboard is not built yet: run `npm run build:web` (npm ci does it too).\n');
      } else {
        sendText(res, 404, 'Not found\n');
      }
      return true;
    }

    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      ...COMMON_HEADERS,
      'content-type': CONTENT_TYPES[extname(target.file)] ?? 'application/octet-stream',
      'cache-control': target.cacheControl,
      etag,
      ...(target.isPage ? { 'content-security-policy': PAGE_POLICY } : {}),
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-length': String(info.size) });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(target.file);
      // Headers are out already: a read error can only cut the response short.
      stream.on('error', () => {
        res.destroy();
        done();
      });
      res.on('close', () => {
        stream.destroy();
        done();
      });
      stream.pipe(res);
    });
    return true;
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
}
