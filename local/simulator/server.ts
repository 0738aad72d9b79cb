/**
 * The built-in AI/ML API simulator: what reelhook talks to when no AIMLAPI_KEY is set.
 * It answers `POST`/`GET /v2/video/generations` (and the legacy kling paths) with the
 * provider's shapes and serves finished videos from `/files/<id>/output.mp4` like a CDN.
 * Faults are requested per generation with directives in the prompt (see faults.ts).
 * With a `stateFile` it remembers its generations and port across restarts (state-file.ts).
 *
 * @example
 * const simulator = await startProviderSimulator({ apiKey: 'sim-key', processingSeconds: 1 });
 * // point the provider client at simulator.baseUrl with `Authorization: Bearer sim-key`
 * await simulator.close();
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateFaultPlans,
  type FaultDirective,
  InvalidFaultDirectiveError,
  parseFaultDirectives,
} from './faults.js';
import { ConcurrencyCap } from './capacity.js';
import { GenerationStore } from './generations.js';
import { createdReply, createFaultReply, statusReply } from './replies.js';
import { apiErrorReply, type Reply, send } from './responses.js';
import { SimulatorStateFile } from './state-file.js';
import { checkCreateRequest } from './validation.js';
import { SimulatedVideo, serveVideo } from './video.js';

export interface ProviderSimulatorOptions {
  /** The bearer token the simulator accepts (requests without it get 401). */
  apiKey: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Seconds from create until `completed` (default 3). queued for roughly the first third, then generating. */
  processingSeconds?: number;
  /** Pad served videos to exactly this many bytes with a top-level MP4 `free` box (the file stays playable). Default: the fixture's own size. */
  videoSizeBytes?: number;
  /**
   * Where to keep accepted generations and the port across restarts (see state-file.ts).
   * A restarted simulator then answers for the jobs it accepted before, on the same port
   * when `port` is not given and that port is free. Default: nothing kept.
   */
  stateFile?: string;
  /** Jobs the account may have unfinished at once; a create beyond it gets 429 (see capacity.ts). Default: no cap. */
  concurrency?: number;
  /** Complete each job at its n-th status check instead of after `processingSeconds` (see generations.ts). */
  pollsToComplete?: number;
}

export interface ProviderSimulator {
  /** e.g. `http://127.0.0.1:12345` (no trailing slash, no `/v2`). */
  baseUrl: string;
  /** Requests received per endpoint, whatever their outcome (HEAD downloads excluded). */
  counters: { creates: number; statusChecks: number; downloads: number; rejectedCreates: number };
  /** The bodies of the latest creates it was sent (at most {@link KEPT_CREATE_BODIES}), oldest first, as received. */
  createBodies: string[];
  /** The most jobs that were unfinished at once. */
  peakConcurrency(): number;
  close(): Promise<void>;
}

const GENERATION_PATHS = new Set(['/v2/video/generations', '/v2/generate/video/kling/generation']);
const VIDEO_PATH = /^\/files\/([A-Za-z0-9_-]+)\/output\.mp4$/;
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PROCESSING_SECONDS = 3;
/** What the cap's 429 asks a client to wait: about one poll of a short simulated job. */
const CAP_RETRY_AFTER_SECONDS = 1;
/** How many create bodies `createBodies` keeps. */
const KEPT_CREATE_BODIES = 100;

function checkOptions(options: ProviderSimulatorOptions): void {
  if (typeof options.apiKey !== 'string' || options.apiKey === '') {
    throw new TypeError('apiKey must be a non-empty string');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError('port must be an integer from 0 to 65535');
  }
  const seconds = options.processingSeconds ?? DEFAULT_PROCESSING_SECONDS;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError('processingSeconds must be a finite number of at least 0');
  }
  for (const name of ['concurrency', 'pollsToComplete'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new RangeError(`${name} must be an integer of at least 1`);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests so the check takes the same time whatever the presented key. */
function hasApiKey(req: IncomingMessage, expectedDigest: Buffer): boolean {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  return token !== undefined && timingSafeEqual(sha256(token), expectedDigest);
}

/** The body, or `undefined` when it is larger than the limit (then drained, not kept). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined;
}

function unauthorizedReply(path: string): Reply {
  return apiErrorReply(401, 'Unauthorized: missing or invalid API key', path);
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: body.length === 0 ? {} : JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/**
 * Listens on 127.0.0.1: on `requested` when given, else on the port of the previous run
 * when it is still free, else on any free port. Resolves with the port.
 */
async function listen(server: Server, requested: number | undefined, previous: number | undefined): Promise<number> {
  const attempt = async (port: number): Promise<void> => {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  try {
    await attempt(requested ?? previous ?? 0);
  } catch (error) {
    if (requested !== undefined || previous === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await attempt(0);
  }
  return (server.address() as AddressInfo).port;
}

/** Starts the simulator on 127.0.0.1 and resolves once it accepts connections. */
export async function startProviderSimulator(
  options: ProviderSimulatorOptions,
): Promise<ProviderSimulator> {
  checkOptions(options);
  const video = await SimulatedVideo.load(options.videoSizeBytes);
  const store = new GenerationStore((options.processingSeconds ?? DEFAULT_PROCESSING_SECONDS) * 1000, Date.now, options.pollsToComplete);
  const stateFile = options.stateFile === undefined ? undefined : new SimulatorStateFile(options.stateFile);
  const saved = stateFile?.load();
  const cap = new ConcurrencyCap(store, options.concurrency);
  for (const record of saved?.generations ?? []) cap.add(store.restore(record));
  const createFaults = new CreateFaultPlans();
  const keyDigest = sha256(options.apiKey);
  const counters = { creates: 0, statusChecks: 0, downloads: 0, rejectedCreates: 0 };
  const createBodies: string[] = [];
  let baseUrl = '';

  async function createReply(req: IncomingMessage, path: string): Promise<Reply> {
    counters.creates += 1;
    if (!hasApiKey(req, keyDigest)) return unauthorizedReply(path);
    const body = await readBody(req);
    if (body === undefined) {
      return apiErrorReply(413, 'request entity too large', path, { connection: 'close' });
    }
    createBodies.push(body.toString('utf8'));
    if (createBodies.length > KEPT_CREATE_BODIES) createBodies.shift();
    const json = parseJson(body);
    if (!json.ok) return apiErrorReply(400, 'request body is not valid JSON', path);
    const check = checkCreateRequest(json.value);
    if (!check.ok) return apiErrorReply(400, check.message, path);

    let directives: FaultDirective[];
    try {
      directives = parseFaultDirectives(check.request.prompt);
    } catch (error) {
      if (error instanceof InvalidFaultDirectiveError) {
        return apiErrorReply(400, error.message, path);
      }
      throw error;
    }
    const fault = createFaults.take(check.request.prompt, directives);
    if (fault !== undefined) return createFaultReply(fault, path);
    if (!cap.hasRoom()) {
      counters.rejectedCreates += 1;
      return apiErrorReply(429, 'Too many concurrent generations for this account', path, { 'retry-after': String(CAP_RETRY_AFTER_SECONDS) });
    }
    const generation = store.create(check.request, directives);
    cap.add(generation);
    // On disk before the id is answered: a job the client knows of is never forgotten.
    const { id, model, durationSeconds, createdAtMs } = generation;
    stateFile?.recordGeneration({ id, model, durationSeconds, createdAtMs, directives });
    return createdReply(generation);
  }

  function statusCheckReply(req: IncomingMessage, path: string, query: URLSearchParams): Reply {
    counters.statusChecks += 1;
    if (!hasApiKey(req, keyDigest)) return unauthorizedReply(path);
    const id = query.get('generation_id');
    if (id === null || id === '') return apiErrorReply(400, 'generation_id must be a string', path);
    const generation = store.get(id);
    if (generation === undefined) return apiErrorReply(404, `Generation ${id} not found`, path);
    const videoUrl = `${baseUrl}/files/${generation.id}/output.mp4`;
    const fault = generation.faults.take('status');
    return statusReply(generation, store.poll(generation), videoUrl, fault, path);
  }

  async function handleDownload(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
  ): Promise<void> {
    const isHead = req.method === 'HEAD';
    if (!isHead) counters.downloads += 1;
    const generation = store.get(id);
    if (generation === undefined || store.statusOf(generation) !== 'completed') {
      send(res, { statusCode: 404, contentType: 'text/plain; charset=utf-8', body: 'Not Found' });
    } else {
      await serveVideo(req, res, video, isHead ? undefined : generation.faults.take('video'));
    }
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const videoId = VIDEO_PATH.exec(path)?.[1];
    if (GENERATION_PATHS.has(path) && method === 'POST') {
      send(res, await createReply(req, path));
    } else if (GENERATION_PATHS.has(path) && method === 'GET') {
      send(res, statusCheckReply(req, path, query));
    } else if (videoId !== undefined && (method === 'GET' || method === 'HEAD')) {
      await handleDownload(req, res, videoId);
    } else {
      send(res, apiErrorReply(404, `Cannot ${method} ${path}`, path));
    }
  }

  const server = createServer((req, res) => {
    const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
    route(req, res, path, new URLSearchParams(search)).catch(() => {
      // Nothing is logged: a message could carry request data, and the simulator has no log of its own.
      if (res.headersSent) res.destroy();
      else send(res, apiErrorReply(500, 'Internal server error', path));
    });
  });
  const port = await listen(server, options.port, saved?.port);
  stateFile?.recordPort(port);
  baseUrl = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  return {
    baseUrl,
    counters,
    createBodies,
    peakConcurrency: () => cap.peak,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // Keep-alive sockets and videos still streaming would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
