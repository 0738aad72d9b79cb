/**
 * The local stand-in for an EventBridge bus: `PutEvents` over the AWS JSON 1.1
 * protocol of `@aws-sdk/client-eventbridge` on 127.0.0.1 (reached through
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`), so handler code publishes exactly as in AWS.
 *
 * Each accepted entry becomes one line of an NDJSON file, in the shape a rule target
 * receives (`version`, `id`, `detail-type`, `source`, `time`, `detail`, …), and goes,
 * asynchronously, to the target of every rule whose event pattern it matches: the
 * local stack passes the synthesized template's rules (`Video Generation Requested`
 * from `reelhook` → intake), so an event no deployed rule matches reaches nothing.
 *
 * @example
 * const bus = await startLocalEventBridge({ busName: 'default', logPath: '.reelhook/events.ndjson', rules: [] });
 * process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { AwsJsonError, startAwsJsonServer } from './aws-json-protocol.js';
import { matchesEventPattern, type EventPattern } from './event-pattern.js';

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

/** A rule on the bus: every event matching its pattern goes to its target. */
export interface LocalBusRule {
  name: string;
  pattern: EventPattern;
  target: EventTarget;
}

/** How a routed event's target ended, for logs and tests. */
export interface TargetInvocation {
  eventId: string;
  rule: string;
  detailType: string;
  ok: boolean;
  error?: { name: string; message: string };
}

export interface LocalEventBridgeOptions {
  /** The bus entries may name (by name or ARN); entries without EventBusName go to `default`. */
  busName: string;
  /** NDJSON file every accepted entry is appended to. */
  logPath: string;
  /** The rules on the bus (see local/template/event-rules.ts for the app's). */
  rules: readonly LocalBusRule[];
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

/** The service's limits: 10 entries per call, 256 KiB per request. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

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
    for (const rule of options.rules) {
      if (!matchesEventPattern(rule.pattern, event)) continue;
      const invocation = { eventId: event.id, rule: rule.name, detailType: event['detail-type'] };
      // Each target gets its own copy, as each Lambda invocation gets its own JSON.
      const run = rule.target(JSON.parse(JSON.stringify(event)) as BusEvent).then(
        () => void invocations.push({ ...invocation, ok: true }),
        (error: unknown) => {
          const { name, message } = error instanceof Error ? error : new Error(String(error));
          invocations.push({ ...invocation, ok: false, error: { name, message } });
        },
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  };

  const putEvents = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new AwsJsonError('ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
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

  const server = await startAwsJsonServer({
    protocolVersion: '1.1',
    targetPrefix: 'AWSEvents',
    operations: { PutEvents: putEvents },
    maxBodyBytes: MAX_REQUEST_BYTES,
    bodyTooLarge: { type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.', statusCode: 413 },
    internalError: { type: 'InternalException', message: 'Local EventBridge failed' },
  });
  const idle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };
  return {
    endpoint: server.endpoint,
    invocations,
    idle,
    close: async () => {
      await server.close();
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
