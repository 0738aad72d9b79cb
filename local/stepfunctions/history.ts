/**
 * Execution histories as Step Functions records them (GetExecutionHistory's events), and
 * the two limits AWS holds every execution to: 25,000 history events, and 256 KiB of UTF-8
 * JSON in any state's input or output.
 *
 * The interpreter reports states entered, exited and failed; the Lambda invocations within
 * a Task are recorded by the engine's Task handlers (Scheduled, Started, Succeeded, …). The
 * two reach the history in one order because a Task handler first waits until the
 * interpreter's event for its own attempt (the state entered, or retried) has been recorded
 * ({@link RunRecorder.attemptRecorded}); while a Lambda runs nothing else happens in the
 * execution. The same wait is what makes both limits hold before a Task starts: a state
 * output over the limit, or a history that is full, has failed the execution by then.
 *
 * @example
 * const recorder = new RunRecorder({ history, tasks, fail: (outcome) => engine.fail(outcome) });
 * await recorder.consume(run.eventLogs);
 */
import type { StateMachine } from 'aws-local-stepfunctions';

/** Events in one Standard execution's history; the last one is the execution's end. */
export const HISTORY_EVENT_LIMIT = 25_000;

/** The largest state input or output, in bytes of UTF-8 JSON (256 KiB). */
export const PAYLOAD_LIMIT_BYTES = 262_144;

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  /** The one `…EventDetails` field of this event type, as the API names it. */
  [details: string]: unknown;
}

/** How an execution ended, as the history's last event records it. */
export interface ExecutionEnd {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
}

/** A failure the engine applies to the whole execution (it ends the run). */
export interface ExecutionFailure {
  error: string;
  cause: string;
}

export const HISTORY_LIMIT_FAILURE: ExecutionFailure = {
  error: 'States.Runtime',
  cause: `The execution reached the maximum number of history events (${HISTORY_EVENT_LIMIT}).`,
};

const notTruncated = { truncated: false } as const;

export function payloadBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8');
}

/**
 * One execution's events. Event 25,000 can only be the execution's end: a history with
 * 24,999 events that gets any other event calls `onFull`, which ends the execution (AWS
 * fails it with States.Runtime), and the event is dropped.
 */
export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  private ended = false;

  /** `onEvent` sees each event as it is recorded (the live log of `reelhook dev`); what it throws is ignored. */
  constructor(
    private readonly onFull: () => void,
    private readonly onEvent?: (event: HistoryEvent) => void,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds a non-final event; false when it was not recorded (the execution has ended, or the history is full). */
  add(type: string, details?: Record<string, unknown>): boolean {
    if (this.ended) return false;
    if (this.events.length >= HISTORY_EVENT_LIMIT - 1) {
      this.onFull();
      return false;
    }
    this.push(type, details);
    return true;
  }

  started(input: string, roleArn: string, at: Date): void {
    if (this.events.length === 0) this.push('ExecutionStarted', { executionStartedEventDetails: { input, inputDetails: notTruncated, roleArn } }, at);
  }

  /** The final event; nothing is recorded after it. */
  end(end: ExecutionEnd, at = new Date()): void {
    if (this.ended) return;
    this.ended = true;
    const failure = { ...(end.error !== undefined && { error: end.error }), ...(end.cause !== undefined && { cause: end.cause }) };
    switch (end.status) {
      case 'SUCCEEDED':
        this.push('ExecutionSucceeded', { executionSucceededEventDetails: { output: end.output ?? 'null', outputDetails: notTruncated } }, at);
        return;
      case 'FAILED':
        this.push('ExecutionFailed', { executionFailedEventDetails: failure }, at);
        return;
      case 'TIMED_OUT':
        this.push('ExecutionTimedOut', { executionTimedOutEventDetails: failure }, at);
        return;
      case 'ABORTED':
        this.push('ExecutionAborted', { executionAbortedEventDetails: failure }, at);
    }
  }

  private push(type: string, details: Record<string, unknown> | undefined, at = new Date()): void {
    const id = this.events.length + 1;
    const event: HistoryEvent = { id, previousEventId: id - 1, timestamp: at, type, ...details };
    this.events.push(event);
    try {
      this.onEvent?.(event);
    } catch {
      // An observer never changes the execution.
    }
  }
}

/** What a Task state calls, as its Scheduled event names it. */
export interface TaskResource {
  /** `arn:aws:states:::lambda:invoke[.waitForTaskToken]` (an integration) or a function ARN. */
  resource: string;
  region: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

const integration = /^arn:aws[a-z-]*:states:::([a-z0-9-]+):(.+)$/;

/**
 * The events of one Task attempt. An integration (`lambda:invoke`) logs Task* events;
 * a function ARN as the Resource logs LambdaFunction* events, as AWS does.
 */
export class TaskAttempt {
  private settled = false;

  constructor(
    private readonly history: ExecutionHistory,
    private readonly task: TaskResource,
  ) {}

  /** Scheduled and Started; false when the history refused them (the Task must not run). */
  start(input: unknown): boolean {
    const json = JSON.stringify(input ?? null);
    const service = integration.exec(this.task.resource);
    const timeouts = {
      ...(this.task.timeoutSeconds !== undefined && { timeoutInSeconds: this.task.timeoutSeconds }),
      ...(this.task.heartbeatSeconds !== undefined && { heartbeatInSeconds: this.task.heartbeatSeconds }),
    };
    if (service) {
      const names = { resourceType: service[1], resource: service[2] };
      return (
        this.history.add('TaskScheduled', { taskScheduledEventDetails: { ...names, region: this.task.region, parameters: json, ...timeouts } }) &&
        this.history.add('TaskStarted', { taskStartedEventDetails: names })
      );
    }
    return (
      this.history.add('LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: { resource: this.task.resource, input: json, inputDetails: notTruncated, ...timeouts },
      }) && this.history.add('LambdaFunctionStarted')
    );
  }

  /** A `.waitForTaskToken` Task whose Lambda returned: from now on it waits for its token. */
  submitted(output: unknown): void {
    const service = integration.exec(this.task.resource);
    if (!service || this.settled) return;
    this.history.add('TaskSubmitted', {
      taskSubmittedEventDetails: { resourceType: service[1], resource: service[2], output: JSON.stringify(output ?? null), outputDetails: notTruncated },
    });
  }

  succeeded(output: unknown): void {
    if (this.settle()) return;
    const json = JSON.stringify(output ?? null);
    const service = integration.exec(this.task.resource);
    if (service) {
      this.history.add('TaskSucceeded', {
        taskSucceededEventDetails: { resourceType: service[1], resource: service[2], output: json, outputDetails: notTruncated },
      });
    } else {
      this.history.add('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: json, outputDetails: notTruncated } });
    }
  }

  /** A failure; States.Timeout and States.HeartbeatTimeout are logged as TimedOut events. */
  failed(error: string, cause: string | undefined): void {
    if (this.settle()) return;
    const timedOut = error === 'States.Timeout' || error === 'States.HeartbeatTimeout';
    const failure = { error, ...(cause !== undefined && { cause }) };
    const service = integration.exec(this.task.resource);
    if (service) {
      const type = timedOut ? 'TaskTimedOut' : 'TaskFailed';
      const field = timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails';
      this.history.add(type, { [field]: { resourceType: service[1], resource: service[2], ...failure } });
    } else {
      const type = timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
      const field = timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails';
      this.history.add(type, { [field]: failure });
    }
  }

  /** True when the attempt had already ended (its first outcome is the one recorded). */
  private settle(): boolean {
    const already = this.settled;
    this.settled = true;
    return already;
  }
}

type InterpreterEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface RunRecorderOptions {
  history: ExecutionHistory;
  /** Ends the execution as FAILED with this error (a limit it broke). */
  fail: (failure: ExecutionFailure) => void;
  /** Called for every state entered (the engine counts transitions). */
  onStateEntered?: (stateName: string) => void;
}

/**
 * Records one run's interpreter events into its history and enforces the payload limit on
 * state outputs. Task attempts wait on it, so that their own events follow their state's.
 */
export class RunRecorder {
  /** Per state: attempts announced so far (StateEntered, then one StateRetried per retry). */
  private readonly attempts = new Map<string, number>();
  private readonly waiters = new Map<string, Array<{ attempt: number; resolve: () => void }>>();
  /** The attempt of each Task state now running, so that a timeout the interpreter raises is logged on it. */
  private readonly running = new Map<string, TaskAttempt>();
  private done = false;
  /** The last state output and its JSON: the interpreter hands that same value to the next state as its input. */
  private lastOutput: { value: unknown; json: string } | undefined;

  constructor(private readonly options: RunRecorderOptions) {}

  /** Resolves once the interpreter's event announcing attempt `attempt` (1-based) of `stateName` is recorded. */
  attemptRecorded(stateName: string, attempt: number): Promise<void> {
    if (this.done || (this.attempts.get(stateName) ?? 0) >= attempt) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(stateName) ?? [];
      list.push({ attempt, resolve });
      this.waiters.set(stateName, list);
    });
  }

  /** Tracks the attempt now running in `stateName`, until it settles. */
  track(stateName: string, attempt: TaskAttempt): void {
    this.running.set(stateName, attempt);
  }

  untrack(stateName: string, attempt: TaskAttempt): void {
    if (this.running.get(stateName) === attempt) this.running.delete(stateName);
  }

  async consume(events: AsyncIterable<InterpreterEvent>): Promise<void> {
    try {
      for await (const event of events) this.record(event);
    } finally {
      // The run is over: no attempt waits for events any more.
      this.done = true;
      for (const list of this.waiters.values()) for (const waiter of list) waiter.resolve();
      this.waiters.clear();
    }
  }

  private record(event: InterpreterEvent): void {
    const { history } = this.options;
    switch (event.type) {
      case 'StateEntered': {
        this.options.onStateEntered?.(event.state.name);
        const input = this.lastOutput?.value === event.state.input ? this.lastOutput.json : JSON.stringify(event.state.input ?? null);
        history.add(`${event.state.type}StateEntered`, {
          stateEnteredEventDetails: { name: event.state.name, input, inputDetails: notTruncated },
        });
        this.announceAttempt(event.state.name);
        return;
      }
      case 'StateRetried':
        this.announceAttempt(event.state.name);
        return;
      case 'StateFailed':
        // A Task's own failures are logged by its attempt; this one came from the interpreter (its timeout).
        this.running.get(event.state.name)?.failed(event.Error, typeof event.Cause === 'string' ? event.Cause : undefined);
        return;
      case 'StateExited': {
        const output = JSON.stringify(event.state.output ?? null);
        this.lastOutput = { value: event.state.output, json: output };
        if (payloadBytes(output) > PAYLOAD_LIMIT_BYTES) {
          this.options.fail({
            error: 'States.DataLimitExceeded',
            cause: `The state/task '${event.state.name}' returned a result with a size exceeding the maximum number of bytes service limit.`,
          });
          return;
        }
        history.add(`${event.state.type}StateExited`, {
          stateExitedEventDetails: { name: event.state.name, output, outputDetails: notTruncated },
        });
        return;
      }
      default:
        // The execution's own start and end are logged by the engine (it knows of stops and limits first);
        // Map and Parallel inner events are not logged (reelhook's definition has neither).
        return;
    }
  }

  private announceAttempt(stateName: string): void {
    const count = (this.attempts.get(stateName) ?? 0) + 1;
    this.attempts.set(stateName, count);
    const list = this.waiters.get(stateName);
    if (!list) return;
    const ready = list.filter((waiter) => waiter.attempt <= count);
    const rest = list.filter((waiter) => waiter.attempt > count);
    if (rest.length === 0) this.waiters.delete(stateName);
    else this.waiters.set(stateName, rest);
    for (const waiter of ready) waiter.resolve();
  }
}
