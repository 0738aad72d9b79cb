/**
 * The live log of `reelhook dev`: one line per API request and per step of each
 * generation (states entered, waits, failures and retries, the copy, webhook attempts).
 *
 * It only reads what already exists: the local API Gateway's answered requests, the
 * history events the local Step Functions engine records, and, for a webhook attempt,
 * the attempt log the notify step keeps in the record. Nothing here decides anything the
 * workflow does. Every text that came from elsewhere (an error's cause, a receiver's
 * failure) is redacted again before it is printed: known secrets, `Bearer` tokens, query
 * strings and key-shaped tokens never reach the terminal.
 *
 * @example
 * const log = new LiveLog({ sink: heldSink(process.stdout, process.env), definition, secrets, deliveryOf });
 * engine hook: (arn, event) => log.historyEvent(arn, event); API hook: (request) => log.request(request)
 */
import { styleText } from 'node:util';
import type { GenerationItem, SupersededDelivery } from '#shared/records/record.js';
import { deliveryOf } from '#shared/webhooks/notification.js';
import { StatePath } from '#shared/workflow/steps.js';
import type { ApiRequestRecord } from './api-gateway.js';
import { asAslDefinition, forEachState, type AslState } from './stepfunctions/definition.js';
import type { HistoryEvent } from './stepfunctions/history.js';

/** Where the lines go, and whether they may carry ANSI colours. */
export interface LiveLogSink {
  readonly color: boolean;
  write(line: string): void;
}

/** A webhook delivery as the record keeps it (the part the live log shows). */
export type DeliveryView = Pick<SupersededDelivery, 'event_type' | 'state' | 'attempt_log' | 'next_attempt_at'>;

export interface LiveLogOptions {
  sink: LiveLogSink;
  /** The state machine definition the engine runs: which states are Tasks or Waits, and where they keep results. */
  definition: Record<string, unknown>;
  /** Values that must never be printed (the API key, the webhook secret, the provider key). */
  secrets: readonly string[];
  /** The delivery of `webhookId` in the generation's record, or null. */
  deliveryOf(generationId: string, webhookId: string): Promise<DeliveryView | null>;
  now?: () => Date;
}

/** {@link LiveLogOptions.deliveryOf} from a generation store (the record the notify step writes). */
export function deliveriesIn(store: { get(id: string): Promise<GenerationItem | null> }): LiveLogOptions['deliveryOf'] {
  return async (generationId, webhookId) => {
    const item = await store.get(generationId);
    return (item && deliveryOf(item.callback, webhookId)?.delivery) ?? null;
  };
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb. */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** A sink on a stream that holds its lines until release(): `dev` prints its banner first. */
export function heldSink(stream: NodeJS.WritableStream & { isTTY?: boolean }, env: NodeJS.ProcessEnv): LiveLogSink & { release(): void } {
  let held: string[] | null = [];
  return {
    color: colorWanted(stream, env),
    write(line) {
      if (held) held.push(line);
      else stream.write(`${line}\n`);
    },
    release() {
      const lines = held ?? [];
      held = null;
      for (const line of lines) stream.write(`${line}\n`);
    },
  };
}

/** Longest cause or error text shown on one line. */
const MAX_TEXT_CHARS = 160;

/** Removes secrets from a text that came from elsewhere, and shortens it to one line. */
export function redact(text: string, secrets: readonly string[]): string {
  let clean = text;
  // Short values would blank out ordinary words; every secret reelhook handles is long.
  for (const secret of secrets) if (secret.length >= 8) clean = clean.replaceAll(secret, '[redacted]');
  clean = clean
    .replace(/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]')
    .replace(/\b(?:whsec|rk|sk)_[A-Za-z0-9+/=_-]{8,}/g, '[redacted]')
    .replace(/(https?:\/\/[^\s?#"'<>]*)[?#][^\s"'<>]*/gi, '$1')
    .replace(/\s+/g, ' ')
    // Control characters left (escape sequences in a path or a provider's text) would drive the terminal.
    .replace(/\p{Cc}/gu, '?')
    .trim();
  return clean.length > MAX_TEXT_CHARS ? `${clean.slice(0, MAX_TEXT_CHARS - 1)}…` : clean;
}

type Tone = 'dim' | 'ok' | 'warn' | 'bad' | 'id' | 'strong';
const STYLES: Record<Tone, Parameters<typeof styleText>[0]> = {
  dim: 'dim',
  ok: 'green',
  warn: 'yellow',
  bad: 'red',
  id: 'cyan',
  strong: 'bold',
};

function painter(color: boolean): (tone: Tone, text: string) => string {
  // The decision is the sink's (colorWanted): styleText must not second-guess it from the stream.
  return (tone, text) => (color ? styleText(STYLES[tone], text, { validateStream: false }) : text);
}

function clock(at: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The value at a plain `$.a.b` path (the only form the workflow's paths take). */
function valueAt(document: unknown, path: string): unknown {
  let value = document;
  for (const key of path.replace(/^\$\.?/, '').split('.').filter(Boolean)) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

function textAt(document: unknown, path: string): string | undefined {
  const value = valueAt(document, path);
  return typeof value === 'string' ? value : undefined;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Lambda reports a failure's cause as `{"errorType","errorMessage"}`; the message is what a reader wants. */
function causeText(cause: unknown): string {
  const parsed = parseJson(cause);
  const message = valueAt(parsed, '$.errorMessage');
  if (typeof message === 'string') return message;
  return typeof cause === 'string' ? cause : '';
}

/** One line per answered API request: time, method, path (no query), status, duration, generation id. */
function formatRequest(request: ApiRequestRecord, at: Date, color: boolean, secrets: readonly string[] = []): string {
  const paint = painter(color);
  const [path = '/'] = request.url.split('?');
  const query = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
  const fromPath = /\/generations\/([^/]+)/.exec(path)?.[1];
  const fromBody = request.method === 'POST' ? valueAt(parseJson(request.responseBody), '$.id') : undefined;
  const generationId = fromPath ?? query.get('generation_id') ?? (typeof fromBody === 'string' ? fromBody : undefined);
  const status = request.statusCode;
  const tone: Tone = status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'ok';
  return [
    paint('dim', clock(at)),
    '  ',
    paint('strong', request.method.padEnd(6)),
    ' ',
    redact(decodeURIComponentSafe(path), secrets),
    ' ',
    paint(tone, String(status)),
    ' ',
    paint('dim', formatDuration(request.durationMs)),
    generationId === undefined ? '' : `  ${paint('id', redact(generationId, secrets))}`,
  ].join('');
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

interface RunView {
  generationId: string;
  startedAt: Date;
  entries: Map<string, number>;
  state?: { name: string; enteredAt: Date; attempts: number; attemptStartedAt?: Date; submitted: boolean };
  failure?: { error: string; cause: string };
}

/** Webhooks whose last shown attempt is remembered. */
const MAX_SHOWN_WEBHOOKS = 10_000;

/** Failure details fields of the history event types that end a Task attempt unsuccessfully. */
const FAILURE_DETAILS: Record<string, string> = {
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  LambdaFunctionScheduleFailed: 'lambdaFunctionScheduleFailedEventDetails',
  LambdaFunctionStartFailed: 'lambdaFunctionStartFailedEventDetails',
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
};

/**
 * Turns the engine's history events and the API's answered requests into lines, in the
 * order they happened: every event passes one queue, so a line that needs a record read
 * (a webhook attempt) is never overtaken by the next step's.
 */
export class LiveLog {
  private readonly states = new Map<string, AslState>();
  private readonly runs = new Map<string, RunView>();
  /** The last attempt shown per webhook id: a notify run that made no attempt shows nothing. */
  private readonly shownAttempts = new Map<string, number>();
  private readonly paint: (tone: Tone, text: string) => string;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: LiveLogOptions) {
    forEachState(asAslDefinition(options.definition), (name, state) => this.states.set(name, state));
    this.paint = painter(options.sink.color);
  }

  request(request: ApiRequestRecord): void {
    const at = (this.options.now ?? (() => new Date()))();
    this.enqueue(() => [formatRequest(request, at, this.options.sink.color, this.options.secrets)]);
  }

  historyEvent(executionArn: string, event: HistoryEvent): void {
    this.enqueue(() => this.linesFor(executionArn, event));
  }

  /** Resolves once every line so far is written (tests). */
  flushed(): Promise<void> {
    return this.queue;
  }

  private enqueue(lines: () => string[] | Promise<string[]>): void {
    this.queue = this.queue
      .then(lines)
      .then((ready) => {
        for (const line of ready) this.options.sink.write(line);
      })
      // A line that cannot be made is dropped; the live log never stops the stack.
      .catch(() => undefined);
  }

  private line(run: RunView, at: Date, text: string): string {
    return `${this.paint('dim', clock(at))}  ${this.paint('id', run.generationId)}  ${text}`;
  }

  private text(raw: string): string {
    return redact(raw, this.options.secrets);
  }

  private async linesFor(executionArn: string, event: HistoryEvent): Promise<string[]> {
    const at = event.timestamp;
    if (event.type === 'ExecutionStarted') {
      const input = parseJson(valueAt(event, '$.executionStartedEventDetails.input'));
      const generationId = valueAt(input, StatePath.GenerationId);
      const run: RunView = { generationId: typeof generationId === 'string' ? generationId : executionArn.split(':').pop() ?? executionArn, startedAt: at, entries: new Map() };
      this.runs.set(executionArn, run);
      const eventType = valueAt(input, `${StatePath.Notification}.event_type`);
      return typeof eventType === 'string' ? [this.line(run, at, `delivery run for ${eventType}`)] : [];
    }
    const run = this.runs.get(executionArn);
    if (!run) return [];
    if (event.type.startsWith('Execution')) {
      this.runs.delete(executionArn);
      return [this.line(run, at, this.executionEnd(event, at.getTime() - run.startedAt.getTime()))];
    }
    if (event.type.endsWith('StateEntered')) return this.entered(run, event);
    if (event.type.endsWith('StateExited')) return this.exited(run, event);
    const state = run.state;
    if (!state) return [];
    switch (event.type) {
      case 'LambdaFunctionScheduled':
      case 'TaskScheduled': {
        state.attempts += 1;
        if (state.attempts === 1) return [];
        const after = run.failure ? ` after ${this.text(run.failure.error)}` : '';
        return [this.line(run, at, this.paint('warn', `${state.name} retry #${state.attempts}${after}`))];
      }
      case 'LambdaFunctionStarted':
      case 'TaskStarted':
        state.attemptStartedAt = at;
        return [];
      case 'TaskSubmitted':
        state.submitted = true;
        return [];
    }
    const detailsField = FAILURE_DETAILS[event.type];
    if (detailsField === undefined) return [];
    const error = textAt(event[detailsField], '$.error') ?? 'Error';
    const cause = this.text(causeText(valueAt(event[detailsField], '$.cause')));
    run.failure = { error, cause };
    return [this.line(run, at, this.paint('bad', `${state.name} failed: ${this.text(error)}${cause ? `: ${cause}` : ''}`))];
  }

  private entered(run: RunView, event: HistoryEvent): string[] {
    const name = String(valueAt(event, '$.stateEnteredEventDetails.name'));
    const count = (run.entries.get(name) ?? 0) + 1;
    run.entries.set(name, count);
    run.state = { name, enteredAt: event.timestamp, attempts: 0, submitted: false };
    run.failure = undefined;
    const definition = this.states.get(name);
    const numbered = count > 1 ? `${name} #${count}` : name;
    if (definition?.Type === 'Task') return [this.line(run, event.timestamp, numbered)];
    if (definition?.Type !== 'Wait') return [];
    const input = parseJson(valueAt(event, '$.stateEnteredEventDetails.input'));
    const until = waitEnd(definition, input, event.timestamp);
    const when = until ? ` until ${clock(until)} (${formatDuration(Math.max(0, until.getTime() - event.timestamp.getTime()))})` : '';
    return [this.line(run, event.timestamp, this.paint('dim', `${numbered}${when}`))];
  }

  private async exited(run: RunView, event: HistoryEvent): Promise<string[]> {
    const state = run.state;
    const name = String(valueAt(event, '$.stateExitedEventDetails.name'));
    const definition = this.states.get(name);
    if (!state || state.name !== name || definition?.Type !== 'Task') return [];
    const output = parseJson(valueAt(event, '$.stateExitedEventDetails.output'));
    const took = event.timestamp.getTime() - (state.attemptStartedAt ?? state.enteredAt).getTime();
    if (definition.ResultPath === StatePath.Video) {
      const size = valueAt(output, `${StatePath.Video}.size_bytes`);
      const bytes = typeof size === 'number' ? formatBytes(size) : 'the video';
      return [this.line(run, event.timestamp, this.paint('ok', `${name}: copied ${bytes} in ${formatDuration(took)}`))];
    }
    if (definition.ResultPath === StatePath.Delivery) return this.webhookAttempt(run, event, output);
    // A Task that waited for its token (the provider slot): how long the wait was.
    if (state.submitted) return [this.line(run, event.timestamp, `${name}: done after ${formatDuration(event.timestamp.getTime() - state.enteredAt.getTime())}`)];
    return [];
  }

  /** The attempt the notify step just made, as it recorded it; nothing when it made none. */
  private async webhookAttempt(run: RunView, event: HistoryEvent, output: unknown): Promise<string[]> {
    const webhookId = valueAt(output, `${StatePath.Notification}.webhook_id`);
    if (typeof webhookId !== 'string') return [];
    const delivery = await this.options.deliveryOf(run.generationId, webhookId);
    const attempts = Object.values(delivery?.attempt_log ?? {}).filter((entry) => entry.finished);
    const latest = attempts.sort((a, b) => b.attempt - a.attempt)[0];
    if (!delivery || !latest || latest.attempt <= (this.shownAttempts.get(webhookId) ?? 0)) return [];
    this.shownAttempts.delete(webhookId);
    this.shownAttempts.set(webhookId, latest.attempt);
    // Bounded: the oldest webhooks are long settled.
    for (const oldest of this.shownAttempts.keys()) {
      if (this.shownAttempts.size <= MAX_SHOWN_WEBHOOKS) break;
      this.shownAttempts.delete(oldest);
    }
    const answer = latest.status_code === null ? this.paint('bad', this.text(latest.error ?? 'no answer')) : this.paint(latest.delivered ? 'ok' : 'bad', String(latest.status_code));
    const duration = latest.duration_ms === null ? '' : ` in ${formatDuration(latest.duration_ms)}`;
    const nextAt = valueAt(output, StatePath.NextAttemptAt);
    const next = latest.delivered
      ? this.paint('ok', 'delivered')
      : typeof nextAt === 'string' && valueAt(output, StatePath.DeliveryDone) === false
        ? `next attempt ${clock(new Date(nextAt))}`
        : delivery.state === 'failed'
          ? this.paint('bad', 'given up')
          : delivery.state;
    return [this.line(run, event.timestamp, `webhook ${delivery.event_type ?? ''} attempt ${latest.attempt}: ${answer}${duration}, ${next}`)];
  }

  private executionEnd(event: HistoryEvent, ms: number): string {
    const took = formatDuration(ms);
    switch (event.type) {
      case 'ExecutionSucceeded':
        return this.paint('ok', `execution succeeded in ${took}`);
      case 'ExecutionFailed': {
        const details = event.executionFailedEventDetails;
        const error = this.text(textAt(details, '$.error') ?? 'Error');
        const cause = this.text(causeText(valueAt(details, '$.cause')));
        return this.paint('bad', `execution failed after ${took}: ${error}${cause ? `: ${cause}` : ''}`);
      }
      case 'ExecutionAborted':
        return this.paint('warn', `execution stopped after ${took}`);
      default:
        return this.paint('bad', `execution timed out after ${took}`);
    }
  }
}

/** When a Wait state entered at `at` with `input` ends, as its definition says; undefined when it cannot tell. */
function waitEnd(state: AslState, input: unknown, at: Date): Date | undefined {
  const timestamp = typeof state.TimestampPath === 'string' ? valueAt(input, state.TimestampPath) : state.Timestamp;
  if (typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp))) return new Date(timestamp);
  const seconds = typeof state.SecondsPath === 'string' ? valueAt(input, state.SecondsPath) : state.Seconds;
  return typeof seconds === 'number' ? new Date(at.getTime() + seconds * 1000) : undefined;
}
