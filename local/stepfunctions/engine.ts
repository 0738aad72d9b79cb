/**
 * Local Step Functions: runs the deployed state machine definition in-process with the
 * `aws-local-stepfunctions` interpreter, keeps executions the way the Step Functions
 * service does (names, statuses, idempotent starts, stop), and journals them so that a
 * crash does not lose running work.
 *
 * @example
 * const engine = new LocalStepFunctions({ definition, stateMachineArn, lambdaHandlers, waitScale: 0, journalPath });
 * const { executionArn } = engine.startExecution('job-1', JSON.stringify({ jobId: 'job-1' }));
 * await engine.idle();
 * engine.describeExecution(executionArn).status; // 'SUCCEEDED'
 */
import { LocalSfnError } from './errors.js';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import {
  PINNED_CONTEXT_FIELDS,
  asAslDefinition,
  forEachState,
  withAwsTaskTimeouts,
  withPinnedExecutionContext,
} from './definition.js';
import {
  ExecutionHistory,
  type ExecutionFailure,
  HISTORY_LIMIT_FAILURE,
  type HistoryEvent,
  PAYLOAD_LIMIT_BYTES,
  payloadBytes,
  RunRecorder,
  TaskAttempt,
  type TaskResource,
} from './history.js';
import { type ClosedStatus, ExecutionJournal } from './journal.js';
import { type LocalTaskHandler, type LocalTaskOverride, localTaskHandlers, TASK_TOKEN_PLACEHOLDER } from './lambda-tasks.js';
import { scaleRetryDelays, waitTimeOverrides } from './time-scale.js';
import { TaskTokens } from './task-tokens.js';

export type { LocalTaskHandler } from './lambda-tasks.js';
export type { HistoryEvent } from './history.js';

export interface LocalEngineOptions {
  /** ASL definition object (already resolved: plain strings, no CloudFormation tokens). */
  definition: Record<string, unknown>;
  stateMachineArn: string;
  /** Lambda function ARN → the handler to run for Task states that invoke it. */
  lambdaHandlers: Record<string, LocalTaskHandler>;
  /**
   * Factor applied to Retry delays and fixed `Seconds` waits: 1 = as defined, 0 = no delay.
   * Wait states driven by SecondsPath/TimestampPath are not scaled here (the step that
   * computes them already scales them), except that 0 skips them too.
   */
  waitScale: number;
  /** NDJSON file where executions are journaled, so that ones interrupted by a crash can be resumed. */
  journalPath: string;
  /**
   * Called when an execution ends (what AWS sends as an EventBridge "Step Functions
   * Execution Status Change"), e.g. to release a provider slot a stopped run held.
   * Errors it throws are its own: they never change the execution.
   */
  onExecutionEnded?: (execution: ExecutionDescription) => Promise<void> | void;
  /** Sees every history event of the runs of this process as it is recorded (the live log); must not throw. */
  onHistoryEvent?: (executionArn: string, event: HistoryEvent) => void;
}

export type ExecutionStatus = 'RUNNING' | ClosedStatus;

export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}


/** A JSON value, as the interpreter types its input. */
type InterpreterInput = Parameters<StateMachine['run']>[0];
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/**
 * Ends the Task of an execution that was stopped (or that a drain keeps from starting one).
 * Aborting a run does not settle the Task the interpreter is awaiting, and its timeout
 * timer (as long as the Task's TimeoutSeconds) would keep the process alive; rejecting
 * with this settles it. The interpreter neither retries nor catches it
 * (`isRetryable`/`isCatchable`), just as AWS ends a stopped execution.
 */
class ExecutionStopped extends Error {
  override name = 'ExecutionStopped';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

interface ActiveRun {
  abort: () => void;
  /** Resolves once the outcome is recorded and every event counted; never rejects. */
  settled: Promise<void>;
  /** Set by close() or a drain: the run is abandoned, not ended, so its outcome is not recorded. */
  detached: boolean;
}

interface Outcome {
  status: ClosedStatus;
  output?: string;
  error?: string;
  cause?: string;
}

/**
 * Full histories kept in memory (each holds every state's input and output); older ended
 * executions keep their description and show only their start and end.
 */
const RETAINED_HISTORIES = 1_000;

/** AWS's rule for execution names: 1–80 characters, none of these. */
const invalidNameCharacters = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]/u;

function outcomeOfFailure(failure: unknown): Outcome {
  if (failure instanceof ExecutionTimeoutError) {
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' };
  }
  if (failure instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  const stateError = failure instanceof ExecutionError ? failure.cause : failure;
  if (stateError instanceof Error) {
    const cause = typeof stateError.cause === 'string' ? stateError.cause : stateError.message;
    return { status: 'FAILED', error: stateError.name, cause };
  }
  return { status: 'FAILED', error: 'States.Runtime', cause: String(stateError) };
}

export class LocalStepFunctions {
  private readonly stateMachine: StateMachine;
  readonly stateMachineArn: string;
  private readonly stateMachineName: string;
  private readonly executionArnPrefix: string;
  private readonly taskHandlers: Record<string, LocalTaskOverride>;
  private readonly waitTimeOverrides: Record<string, number>;
  private readonly journal: ExecutionJournal;
  private readonly executions = new Map<string, ExecutionDescription>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly entries: Record<string, number> = {};
  /** Histories of this process's runs; a restored execution has none (see executionHistory). */
  private readonly histories = new Map<string, ExecutionHistory>();
  private readonly taskResources = new Map<string, TaskResource>();
  /** The definition as given (before local adaptations), which DescribeStateMachine returns. */
  readonly definition: string;
  readonly roleArn: string;
  readonly creationDate = new Date();
  /** Tokens of `.waitForTaskToken` Tasks, settled through the SendTask* operations. */
  readonly taskTokens = new TaskTokens();
  /** Task invocations running now, so that a drain can let them finish. */
  private readonly inFlightTasks = new Set<Promise<unknown>>();
  private draining = false;
  private closed = false;

  private readonly onExecutionEnded: LocalEngineOptions['onExecutionEnded'];
  private readonly onHistoryEvent: LocalEngineOptions['onHistoryEvent'];

  constructor(options: LocalEngineOptions) {
    this.onExecutionEnded = options.onExecutionEnded;
    this.onHistoryEvent = options.onHistoryEvent;
    const arnParts = /^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:([^:]+)$/.exec(options.stateMachineArn);
    if (!arnParts?.[1]) throw new Error(`Not a state machine ARN: ${options.stateMachineArn}`);
    this.stateMachineArn = options.stateMachineArn;
    this.stateMachineName = arnParts[1];
    this.executionArnPrefix = `${options.stateMachineArn.replace(':stateMachine:', ':execution:')}:`;

    this.definition = JSON.stringify(options.definition);
    const [, , , region = '', accountId = ''] = options.stateMachineArn.split(':');
    this.roleArn = `arn:aws:iam::${accountId}:role/${this.stateMachineName}-local`;
    const asDefined = asAslDefinition(options.definition);
    forEachState(asDefined, (stateName, state) => {
      if (state.Type !== 'Task') return;
      this.taskResources.set(stateName, {
        resource: String(state.Resource),
        region,
        ...(typeof state.TimeoutSeconds === 'number' && { timeoutSeconds: state.TimeoutSeconds }),
        ...(typeof state.HeartbeatSeconds === 'number' && { heartbeatSeconds: state.HeartbeatSeconds }),
      });
    });
    const definition = withPinnedExecutionContext(withAwsTaskTimeouts(scaleRetryDelays(asDefined, options.waitScale)));
    this.taskHandlers = localTaskHandlers(definition, options.lambdaHandlers);
    this.waitTimeOverrides = waitTimeOverrides(definition, options.waitScale);
    // Validates the definition (slow: once per engine).
    this.stateMachine = new StateMachine(definition as unknown as StateMachineDefinition);

    this.journal = new ExecutionJournal(options.journalPath);
    this.restoreFromJournal();
  }

  startExecution(name: string, input: string): { executionArn: string; startDate: Date } {
    this.assertOpen();
    if (name.length < 1 || name.length > 80 || invalidNameCharacters.test(name)) {
      throw new LocalSfnError('InvalidName', `Invalid execution name: ${JSON.stringify(name)}`);
    }
    try {
      JSON.parse(input);
    } catch {
      throw new LocalSfnError('InvalidExecutionInput', 'Execution input is not valid JSON');
    }
    const executionArn = `${this.executionArnPrefix}${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Like AWS for Standard workflows: repeating the start of a running execution is harmless.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new LocalSfnError('ExecutionAlreadyExists', `Execution already exists: '${executionArn}'`);
    }
    const execution: ExecutionDescription = {
      executionArn,
      stateMachineArn: this.stateMachineArn,
      name,
      status: 'RUNNING',
      startDate: new Date(),
      input,
    };
    this.journal.append({ type: 'started', name, arn: executionArn, input, startDate: execution.startDate.toISOString() });
    this.executions.set(executionArn, execution);
    // While draining, an accepted start is only journaled: the next start of the engine runs it.
    if (!this.draining) this.launch(execution);
    return { executionArn, startDate: execution.startDate };
  }

  describeExecution(executionArn: string): ExecutionDescription {
    return { ...this.existing(executionArn) };
  }

  /**
   * The execution's history events, oldest first. An execution this process did not run
   * (restored from the journal) or one of the oldest ones (see {@link RETAINED_HISTORIES})
   * shows only its start and its end.
   */
  executionHistory(executionArn: string): HistoryEvent[] {
    const execution = this.existing(executionArn);
    const history = this.histories.get(executionArn);
    if (history) return [...history.events];
    const summary = new ExecutionHistory(() => undefined);
    summary.started(execution.input, this.roleArn, execution.startDate);
    if (execution.status !== 'RUNNING') summary.end({ ...execution, status: execution.status }, execution.stopDate);
    return summary.events;
  }

  stopExecution(executionArn: string, error?: string, cause?: string): { stopDate: Date } {
    this.assertOpen();
    const execution = this.existing(executionArn);
    if (execution.status === 'RUNNING') {
      this.end(execution, { status: 'ABORTED', error, cause });
      this.active.get(executionArn)?.abort();
    }
    return { stopDate: execution.stopDate ?? new Date() };
  }

  /** Newest first, as the service lists them. */
  listExecutions(statusFilter?: ExecutionStatus): ExecutionDescription[] {
    return [...this.executions.values()]
      .filter((execution) => statusFilter === undefined || execution.status === statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .map((execution) => ({ ...execution }));
  }

  /**
   * Re-runs, from the start and with the same input, every execution the journal shows as
   * started but never ended (reelhook's steps are idempotent, so this resumes them).
   * Returns their names.
   */
  async resumeInterrupted(): Promise<string[]> {
    this.assertOpen();
    const interrupted = [...this.executions.values()].filter(
      (execution) => execution.status === 'RUNNING' && !this.active.has(execution.executionArn),
    );
    for (const execution of interrupted) this.launch(execution);
    return interrupted.map((execution) => execution.name);
  }

  /** Resolves when no execution is running in this process. */
  async idle(): Promise<void> {
    while (this.active.size > 0) {
      await Promise.all([...this.active.values()].map((run) => run.settled));
    }
  }

  /** Counts of StateEntered events per state name across all executions so far. */
  stateEntries(): Record<string, number> {
    return { ...this.entries };
  }

  /**
   * Prepares a stop that loses nothing. No Task state starts any more (an execution that
   * reaches one is left unended in the journal, so the next start resumes it), new
   * executions are journaled but not run, and the Task invocations already running get up
   * to `timeoutMs` to finish, so their effects land instead of being cut off half-way.
   * Resolves true when they all finished in time; close() is the next call either way.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.assertOpen();
    this.draining = true;
    if (this.inFlightTasks.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    // No new invocation starts while draining, so the ones in the set now are all there is to wait for.
    const finished = Promise.allSettled([...this.inFlightTasks]).then(() => true as const);
    try {
      return await Promise.race([finished, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Task invocations running now (they count towards a drain). */
  inFlightTaskCount(): number {
    return this.inFlightTasks.size;
  }

  /**
   * Stops accepting new executions, aborts running ones without journaling them as ended
   * (so a later resumeInterrupted() picks them up), and closes the journal.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const runs = [...this.active.values()];
    for (const run of runs) {
      run.detached = true;
      run.abort();
    }
    await Promise.all(runs.map((run) => run.settled));
    this.journal.close();
  }

  private launch(execution: ExecutionDescription): void {
    const input = JSON.parse(execution.input) as InterpreterInput;
    const startTime = execution.startDate.toISOString();
    const stopped = new AbortController();
    const activeRun: ActiveRun = { abort: () => undefined, settled: Promise.resolve(), detached: false };
    // A resumed execution runs again from its start, so its history starts afresh too.
    const observer = this.onHistoryEvent;
    const history = new ExecutionHistory(
      () => this.fail(execution, HISTORY_LIMIT_FAILURE),
      observer && ((event) => observer(execution.executionArn, event)),
    );
    history.started(execution.input, this.roleArn, execution.startDate);
    this.keepHistory(execution.executionArn, history);
    const recorder = new RunRecorder({
      history,
      fail: (failure) => this.fail(execution, failure),
      onStateEntered: (stateName) => {
        this.entries[stateName] = (this.entries[stateName] ?? 0) + 1;
      },
    });
    const run = this.stateMachine.run(input, {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlersFor({ run: activeRun, stopped: stopped.signal, execution, history, recorder }),
        waitTimeOverrides: this.waitTimeOverrides,
      },
      context: {
        Execution: {
          Id: execution.executionArn,
          Name: execution.name,
          Input: input,
          StartTime: startTime,
          [PINNED_CONTEXT_FIELDS.Input]: input,
          [PINNED_CONTEXT_FIELDS.StartTime]: startTime,
        },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineName },
        // `.waitForTaskToken` Tasks swap this for a fresh token (lambda-tasks.ts).
        Task: { Token: TASK_TOKEN_PLACEHOLDER },
      },
    });
    activeRun.abort = run.abort;
    const recordOutcome = run.result
      .then((output) => ({ status: 'SUCCEEDED' as const, output: JSON.stringify(output) }), outcomeOfFailure)
      // Once the execution has ended (stopped, timed out, failed), settle any Task still awaited.
      .finally(() => stopped.abort());
    activeRun.settled = Promise.all([recordOutcome, recorder.consume(run.eventLogs)]).then(([outcome]) => {
      if (!activeRun.detached && execution.status === 'RUNNING') this.end(execution, outcome);
      this.active.delete(execution.executionArn);
    });
    this.active.set(execution.executionArn, activeRun);
  }

  /** Ends a running execution as FAILED for a limit it broke (AWS's terminal errors, which no Catch sees). */
  private fail(execution: ExecutionDescription, failure: ExecutionFailure): void {
    if (execution.status !== 'RUNNING') return;
    this.end(execution, { status: 'FAILED', ...failure });
    this.active.get(execution.executionArn)?.abort();
  }

  /**
   * The Task handlers of one run. Each attempt first waits until the history holds its
   * state's entry (so a limit broken before it has ended the execution), gives up once
   * `stopped` aborts and runs nothing after; while the engine drains they start nothing and
   * leave the run unended (detached); and each invocation is tracked in flight until it settles.
   */
  private taskHandlersFor(of: {
    run: ActiveRun;
    stopped: AbortSignal;
    execution: ExecutionDescription;
    history: ExecutionHistory;
    recorder: RunRecorder;
  }): TaskHandlers {
    const { run, stopped, execution, history, recorder } = of;
    const handlers: TaskHandlers = {};
    const attempts = new Map<string, number>();
    for (const [stateName, handler] of Object.entries(this.taskHandlers)) {
      const resource = this.taskResources.get(stateName);
      if (!resource) throw new Error(`Task state "${stateName}" is not in the definition`);
      handlers[stateName] = async (input) => {
        const number = (attempts.get(stateName) ?? 0) + 1;
        attempts.set(stateName, number);
        await recorder.attemptRecorded(stateName, number);
        if (this.draining) run.detached = true;
        const ended = () => stopped.aborted || this.draining || this.closed || run.detached || execution.status !== 'RUNNING';
        if (ended()) throw new ExecutionStopped();
        if (payloadBytes(JSON.stringify(input ?? null)) > PAYLOAD_LIMIT_BYTES) {
          this.fail(execution, { error: 'States.DataLimitExceeded', cause: `The input of state '${stateName}' after Parameters exceeds ${PAYLOAD_LIMIT_BYTES} bytes.` });
          throw new ExecutionStopped();
        }
        const attempt = new TaskAttempt(history, resource);
        // A full history has failed the execution instead of recording these.
        if (!attempt.start(input) || ended()) throw new ExecutionStopped();
        recorder.track(stateName, attempt);
        const inFlight: { tracked?: Promise<unknown> } = {};
        // A Task waiting for its token is not in flight: a drain leaves it to the next start.
        const waiting = () => inFlight.tracked !== undefined && this.inFlightTasks.delete(inFlight.tracked);
        const submitted = (response: unknown) => {
          attempt.submitted(response);
          waiting();
        };
        const invocation = Promise.resolve().then(() => handler(input, { tokens: this.taskTokens, signal: stopped, waiting: submitted }));
        const tracked = invocation.then(
          () => undefined,
          () => undefined,
        );
        inFlight.tracked = tracked;
        this.inFlightTasks.add(tracked);
        void tracked.then(waiting);
        return new Promise((resolve, reject) => {
          const onStop = () => reject(new ExecutionStopped());
          stopped.addEventListener('abort', onStop, { once: true });
          invocation
            .then(
              (result) => {
                if (payloadBytes(JSON.stringify(result ?? null)) > PAYLOAD_LIMIT_BYTES) {
                  this.fail(execution, {
                    error: 'States.DataLimitExceeded',
                    cause: `The state/task '${resource.resource}' returned a result with a size exceeding the maximum number of bytes service limit.`,
                  });
                  throw new ExecutionStopped();
                }
                attempt.succeeded(result);
                return result;
              },
              (error: unknown) => {
                if (!(error instanceof ExecutionStopped)) {
                  const named = error instanceof Error ? error : new Error(String(error));
                  attempt.failed(named.name, typeof named.cause === 'string' ? named.cause : named.message);
                }
                throw error;
              },
            )
            .then(resolve, reject)
            .finally(() => {
              recorder.untrack(stateName, attempt);
              stopped.removeEventListener('abort', onStop);
            });
        });
      };
    }
    return handlers;
  }

  private end(execution: ExecutionDescription, outcome: Outcome): void {
    execution.status = outcome.status;
    execution.stopDate = new Date();
    if (outcome.output !== undefined) execution.output = outcome.output;
    if (outcome.error !== undefined) execution.error = outcome.error;
    if (outcome.cause !== undefined) execution.cause = outcome.cause;
    this.histories.get(execution.executionArn)?.end(outcome, execution.stopDate);
    this.journal.append({
      type: 'ended',
      arn: execution.executionArn,
      status: outcome.status,
      stopDate: execution.stopDate.toISOString(),
      ...(outcome.output !== undefined && { output: outcome.output }),
      ...(outcome.error !== undefined && { error: outcome.error }),
      ...(outcome.cause !== undefined && { cause: outcome.cause }),
    });
    if (this.onExecutionEnded) {
      const listener = this.onExecutionEnded;
      void Promise.resolve()
        .then(() => listener({ ...execution }))
        .catch(() => undefined);
    }
  }

  /** Rebuilds the executions of this state machine from the journal (a journal of another one is ignored). */
  private restoreFromJournal(): void {
    for (const entry of this.journal.recovered) {
      if (!entry.arn.startsWith(this.executionArnPrefix)) continue;
      if (entry.type === 'started') {
        this.executions.set(entry.arn, {
          executionArn: entry.arn,
          stateMachineArn: this.stateMachineArn,
          name: entry.name,
          status: 'RUNNING',
          startDate: new Date(entry.startDate),
          input: entry.input,
        });
        continue;
      }
      const execution = this.executions.get(entry.arn);
      if (!execution) continue;
      execution.status = entry.status;
      execution.stopDate = new Date(entry.stopDate);
      if (entry.output !== undefined) execution.output = entry.output;
      if (entry.error !== undefined) execution.error = entry.error;
      if (entry.cause !== undefined) execution.cause = entry.cause;
    }
  }

  /** Keeps the history of a run, dropping the oldest ended ones beyond {@link RETAINED_HISTORIES}. */
  private keepHistory(executionArn: string, history: ExecutionHistory): void {
    this.histories.delete(executionArn);
    this.histories.set(executionArn, history);
    if (this.histories.size <= RETAINED_HISTORIES) return;
    for (const [arn, kept] of this.histories) {
      if (this.histories.size <= RETAINED_HISTORIES) break;
      if (kept.isEnded) this.histories.delete(arn);
    }
  }

  private existing(executionArn: string): ExecutionDescription {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new LocalSfnError('ExecutionDoesNotExist', `Execution does not exist: '${executionArn}'`);
    return execution;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('Local Step Functions is closed');
  }
}
