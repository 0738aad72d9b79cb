/**
 * The local stand-in for an EventBridge bus: `PutEvents` over the AWS JSON 1.1
 * protocol of `@aws-sdk/client-eventbridge` on 127.0.0.1 (reached through
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`), so handler code publishes exactly as in AWS.
 *
 * Each accepted entry becomes one line of an NDJSON file, in the shape a rule target
 * receives (`version`, `id`, `detail-type`, `source`, `time`, `detail`, …), and entries
 * whose detail-type has a route go to that handler asynchronously, as the CDK app's
 * rules do in AWS (`Video Generation Requested` → intake).
 *
 * @example
 * const bus = await startLocalEventBridge({ busName: 'default', logPath: '.reelhook/events.ndjson', routes: {} });
 * process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a rule target receives. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export type EventTarget = (event: BusEvent) => Promise<unknown>;

/** How a routed event's target ended, for logs and tests. */
export interface TargetInvocation {
  eventId: string;
  detailType: string;
  ok: boolean;
  error?: { name: string; message: string };
}

export interface LocalEventBridgeOptions {
  /** The bus entries may name (by name or ARN); entries without EventBusName go to `default`. */
  busName: string;
  /** NDJSON file every accepted entry is appended to. */
  logPath: string;
  /** Detail-type → target, as the app's rules route them. */
  routes: Record<string, EventTarget>;
  region?: string;
  accountId?: string;
}

export interface LocalEventBridge {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Every routed event's outcome so far, in completion order. */
  invocations: readonly TargetInvocation[];
  /** Resolves when no routed event is being handled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const TARGET = 'AWSEvents.PutEvents';
/** The service's limits: 10 entries per call, 256 KiB per request. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '000000000000';
  const busArn = `arn:aws:events:${region}:${account}:event-bus/${options.busName}`;
  const invocations: TargetInvocation[] = [];
  const inFlight = new Set<Promise<void>>();
  // Appends one after another, so lines never interleave and keep the order of acceptance.
  let appended: Promise<void> = Promise.resolve();

  const dispatch = (event: BusEvent): void => {
    const target = options.routes[event['detail-type']];
    if (!target) return;
    const run = target(JSON.parse(JSON.stringify(event)) as BusEvent).then(
      () => void invocations.push({ eventId: event.id, detailType: event['detail-type'], ok: true }),
      (error: unknown) => {
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        invocations.push({ eventId: event.id, detailType: event['detail-type'], ok: false, error: { name, message } });
      },
    );
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  const putEvents = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new ServiceError('ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
    }
    const accepted: BusEvent[] = [];
    const results: EntryResult[] = entries.map((entry: unknown) => {
      const checked = checkEntry(entry, options.busName, busArn);
      if ('ErrorCode' in checked) return checked;
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': checked.detailType,
        source: checked.source,
        account,
        time: checked.time,
        region,
        resources: checked.resources,
        detail: checked.detail,
      };
      accepted.push(event);
      return { EventId: event.id };
    });
    if (accepted.length > 0) {
      const lines = accepted.map((event) => `${JSON.stringify(event)}\n`).join('');
      // A failed append fails this call (500), not every later one.
      appended = appended.catch(() => undefined).then(() => appendFile(options.logPath, lines));
      await appended;
      for (const event of accepted) dispatch(event);
    }
    return { FailedEntryCount: entries.length - accepted.length, Entries: results };
  };

  const server = createServer((request, response) => void handle(request, response, putEvents));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const idle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    idle,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      });
      await idle();
      await appended.catch(() => undefined);
    },
  };
}

interface CheckedEntry {
  source: string;
  detailType: string;
  detail: unknown;
  resources: string[];
  time: string;
}

/** Validates one entry as the service does, answering a per-entry error instead of failing the call. */
function checkEntry(entry: unknown, busName: string, busArn: string): CheckedEntry | { ErrorCode: string; ErrorMessage: string } {
  const invalid = (message: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage: message });
  if (typeof entry !== 'object' || entry === null) return invalid('Entry must be an object');
  const { Source, DetailType, Detail, EventBusName, Resources, Time } = entry as Record<string, unknown>;
  const bus = EventBusName ?? 'default';
  if (bus !== busName && bus !== busArn) {
    return { ErrorCode: 'NotFoundException', ErrorMessage: `Event bus ${typeof bus === 'string' ? bus : JSON.stringify(bus)} does not exist.` };
  }
  if (typeof Source !== 'string' || Source === '') return invalid('Parameter Source is not valid. Reason: Source is a required argument.');
  if (typeof DetailType !== 'string' || DetailType === '') {
    return invalid('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
  }
  if (typeof Detail !== 'string') return invalid('Parameter Detail is not valid. Reason: Detail is a required argument.');
  let detail: unknown;
  try {
    detail = JSON.parse(Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const resources = Array.isArray(Resources) ? Resources.filter((item): item is string => typeof item === 'string') : [];
  // The SDK sends Time as epoch seconds.
  const time = typeof Time === 'number' ? new Date(Time * 1000) : new Date();
  return { source: Source, detailType: DetailType, detail, resources, time: time.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new ServiceError('ValidationException', 'Total size of the entries in the request is over the limit.', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, statusCode: number, body: Record<string, unknown>): void {
  const payload = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  putEvents: (request: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<void> {
  try {
    if (request.method !== 'POST' || request.headers['x-amz-target'] !== TARGET) {
      throw new ServiceError('UnknownOperationException', `Unknown operation: ${String(request.headers['x-amz-target'])}`);
    }
    const text = await readBody(request);
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ServiceError('SerializationException', 'Request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ServiceError('SerializationException', 'Request body must be a JSON object');
    }
    send(response, 200, await putEvents(parsed as Record<string, unknown>));
  } catch (error) {
    if (error instanceof ServiceError) send(response, error.statusCode, { __type: error.type, message: error.message });
    else send(response, 500, { __type: 'InternalException', message: error instanceof Error ? error.message : 'Local EventBridge failed' });
  }
}
