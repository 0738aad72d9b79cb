/**
 * One execution's history (GetExecutionHistory's events, oldest first) summarized for
 * people: the states entered in order, when each was entered and left and how long it
 * took, the retries of each Task with their error and cause, and how the execution
 * stands. Causes can quote a provider's text, so they are shown redacted and cut short.
 *
 * A Task attempt that fails and is followed by another attempt of the same state (its
 * next Scheduled event) was retried; a failure that is not followed by one ended the
 * state (a Catch took it, or it failed the execution).
 *
 * @example
 * const summary = summarizeExecutionHistory(events, { truncated: false });
 * summary.states.find((state) => state.retries.length > 0)?.retries[0]?.error; // 'ProviderUnavailable'
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { sanitizeMessage } from '#shared/provider/redaction.js';
import { causeMessage } from '#shared/workflow/step-failure.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StepError {
  error: string;
  /** The cause's message, redacted and at most {@link MAX_CAUSE_CHARS} characters; null when there was none. */
  cause: string | null;
}

export interface StepRetry extends StepError {
  /** When the attempt that was retried failed. */
  at: string;
}

export interface StateSummary {
  name: string;
  /** The state's type: Task, Wait, Choice, Pass, Succeed or Fail. */
  type: string;
  entered_at: string;
  /** Null while the state runs. */
  exited_at: string | null;
  duration_ms: number | null;
  /** The Task attempts that failed and were tried again, oldest first. */
  retries: StepRetry[];
  /** The failure that ended the state (caught by a Catch, or ending the execution). */
  error: StepError | null;
}

export interface ExecutionSummary {
  status: ExecutionStatus;
  started_at: string | null;
  stopped_at: string | null;
  /** Why a FAILED, TIMED_OUT or ABORTED execution ended. */
  error: StepError | null;
  states: StateSummary[];
  /** History events read. */
  event_count: number;
  /** True when the reader stopped before the history's end (it reads at most Step Functions' 25,000). */
  truncated: boolean;
}

/** The answer of GET /v2/video/generations/ID/history: the generation's own run; null when it has none (yet, or any more). */
export interface GenerationHistory {
  generation_id: string;
  execution_name: string;
  execution: ExecutionSummary | null;
}

export const MAX_CAUSE_CHARS = 500;

const END_STATUS: Record<string, ExecutionStatus> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** The events that start a Task attempt: a failure before one of these was retried. */
const ATTEMPT_STARTS = new Set(['TaskScheduled', 'LambdaFunctionScheduled', 'ActivityScheduled']);

/** The events with which a Task attempt fails (Lambda as a Resource, a service integration, an activity). */
const ATTEMPT_FAILURES = new Set([
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);

interface Details {
  name?: string;
  error?: string;
  cause?: string;
}

/** The event's one `…EventDetails` field (its name depends on the event type). */
function detailsOf(event: HistoryEvent): Details {
  for (const [field, value] of Object.entries(event)) {
    if (field.endsWith('EventDetails') && value && typeof value === 'object') return value as Details;
  }
  return {};
}

/** A cause as shown: the Lambda error's message, never a provider's secret or a URL's query, cut short. */
function shownCause(cause: string | undefined): string | null {
  const message = causeMessage(cause);
  if (message === null) return null;
  const redacted = sanitizeMessage(message);
  return redacted.length > MAX_CAUSE_CHARS ? `${redacted.slice(0, MAX_CAUSE_CHARS - 1)}…` : redacted;
}

const stepError = (details: Details): StepError => ({ error: details.error ?? 'unknown', cause: shownCause(details.cause) });

const iso = (time: Date | undefined): string => (time ?? new Date(0)).toISOString();

export function summarizeExecutionHistory(events: readonly HistoryEvent[], options: { truncated: boolean }): ExecutionSummary {
  const summary: ExecutionSummary = {
    status: 'RUNNING',
    started_at: null,
    stopped_at: null,
    error: null,
    states: [],
    event_count: events.length,
    truncated: options.truncated,
  };
  let open: StateSummary | undefined;
  let failure: StepRetry | undefined;
  const leave = (state: StateSummary, at: string): void => {
    state.exited_at = at;
    state.duration_ms = Math.max(0, Date.parse(at) - Date.parse(state.entered_at));
    if (failure) state.error = { error: failure.error, cause: failure.cause };
    failure = undefined;
    open = undefined;
  };

  for (const event of events) {
    const type = event.type ?? '';
    const at = iso(event.timestamp);
    const details = detailsOf(event);
    if (type === 'ExecutionStarted') {
      summary.started_at = at;
    } else if (type.endsWith('StateEntered')) {
      open = { name: details.name ?? '', type: type.slice(0, -'StateEntered'.length), entered_at: at, exited_at: null, duration_ms: null, retries: [], error: null };
      failure = undefined;
      summary.states.push(open);
    } else if (type.endsWith('StateExited')) {
      if (open && open.name === details.name) leave(open, at);
    } else if (ATTEMPT_FAILURES.has(type)) {
      failure = { at, ...stepError(details) };
    } else if (ATTEMPT_STARTS.has(type)) {
      if (open && failure) open.retries.push(failure);
      failure = undefined;
    } else if (type in END_STATUS) {
      summary.status = END_STATUS[type]!;
      summary.stopped_at = at;
      if (type !== 'ExecutionSucceeded') summary.error = stepError(details);
      if (open) leave(open, at);
    }
  }
  return summary;
}
