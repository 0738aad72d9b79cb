/**
 * Task tokens of the local engine's `.waitForTaskToken` Tasks: a Task awaits its token
 * until SendTaskSuccess or SendTaskFailure settles it (served by the SFN stand-in), the
 * execution ends (the token dies, as in AWS), or its heartbeat lapses. Unknown, settled
 * and dead tokens answer like AWS: InvalidToken, TaskDoesNotExist, TaskTimedOut.
 */
import { randomBytes } from 'node:crypto';
import { LocalSfnError } from './errors.js';

interface Pending {
  resolve(output: unknown): void;
  reject(error: Error): void;
  heartbeatMs: number | undefined;
  heartbeatTimer: NodeJS.Timeout | undefined;
}

/** A Task's failure as SendTaskFailure reports it: Error and Cause reach the state's Catch. */
class TaskFailure extends Error {
  constructor(error: string, cause: string | undefined) {
    super(cause ?? '');
    this.name = error;
    if (cause !== undefined) this.cause = cause;
  }
}

/** A heartbeat that lapsed: the state sees States.HeartbeatTimeout. */
class HeartbeatTimeout extends Error {
  override name = 'States.HeartbeatTimeout';
}

const TOKEN_PREFIX = 'rhlt1.';
/** How long a settled or dead token is remembered, to answer TaskTimedOut instead of InvalidToken. */
const REMEMBERED_TOKENS = 10_000;

export class TaskTokens {
  private readonly pending = new Map<string, Pending>();
  private readonly ended = new Map<string, 'settled' | 'dead'>();

  /** A new token and the promise its Task awaits; `signal` (the execution ending) kills it. */
  issue(signal: AbortSignal, heartbeatSeconds?: number): { token: string; result: Promise<unknown> } {
    const token = `${TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
    const result = new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { resolve, reject, heartbeatMs: heartbeatSeconds === undefined ? undefined : heartbeatSeconds * 1000, heartbeatTimer: undefined };
      this.pending.set(token, entry);
      this.armHeartbeat(token, entry);
      const onAbort = () => this.end(token, 'dead', new Error('The execution ended'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    return { token, result };
  }

  succeed(token: string, output: unknown): void {
    this.take(token).resolve(output);
    this.forget(token, 'settled');
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    this.take(token).reject(new TaskFailure(error ?? 'States.TaskFailed', cause));
    this.forget(token, 'settled');
  }

  heartbeat(token: string): void {
    const entry = this.take(token);
    this.armHeartbeat(token, entry);
  }

  private armHeartbeat(token: string, entry: Pending): void {
    clearTimeout(entry.heartbeatTimer);
    if (entry.heartbeatMs === undefined) return;
    entry.heartbeatTimer = setTimeout(() => this.end(token, 'dead', new HeartbeatTimeout('The task sent no heartbeat in time')), entry.heartbeatMs);
    entry.heartbeatTimer.unref();
  }

  private end(token: string, how: 'dead', error: Error): void {
    const entry = this.pending.get(token);
    if (entry === undefined) return;
    entry.reject(error);
    this.forget(token, how);
  }

  private take(token: string): Pending {
    const entry = this.pending.get(token);
    if (entry !== undefined) return entry;
    if (!token.startsWith(TOKEN_PREFIX)) throw new LocalSfnError('InvalidToken', 'Invalid Token');
    const ended = this.ended.get(token);
    if (ended === 'dead') throw new LocalSfnError('TaskTimedOut', 'Task Timed Out');
    throw new LocalSfnError('TaskDoesNotExist', 'Task does not exist anymore');
  }

  private forget(token: string, how: 'settled' | 'dead'): void {
    const entry = this.pending.get(token);
    if (entry !== undefined) clearTimeout(entry.heartbeatTimer);
    this.pending.delete(token);
    this.ended.set(token, how);
    if (this.ended.size > REMEMBERED_TOKENS) this.ended.delete(this.ended.keys().next().value!);
  }
}
