/** The local engine's task tokens answer like Step Functions: settle once, die with the execution, heartbeats. */
import { describe, expect, it, vi } from 'vitest';
import { TaskTokens } from '../../local/stepfunctions/task-tokens.js';

const nameOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as Error).name;
  }
};

describe('TaskTokens', () => {
  it('resolves the waiting Task with the SendTaskSuccess output, once', async () => {
    const tokens = new TaskTokens();
    const { token, result } = tokens.issue(new AbortController().signal);
    tokens.succeed(token, { admitted: true });
    await expect(result).resolves.toEqual({ admitted: true });
    expect(nameOf(() => tokens.succeed(token, {}))).toBe('TaskDoesNotExist');
  });

  it('rejects the Task with the SendTaskFailure error and cause', async () => {
    const tokens = new TaskTokens();
    const { token, result } = tokens.issue(new AbortController().signal);
    tokens.fail(token, 'Cancelled', 'the generation was cancelled');
    await expect(result).rejects.toMatchObject({ name: 'Cancelled', message: 'the generation was cancelled' });
  });

  it('kills the token when the execution ends: later calls answer TaskTimedOut', async () => {
    const tokens = new TaskTokens();
    const execution = new AbortController();
    const { token, result } = tokens.issue(execution.signal);
    execution.abort();
    await expect(result).rejects.toThrow();
    expect(nameOf(() => tokens.succeed(token, {}))).toBe('TaskTimedOut');
    expect(nameOf(() => tokens.heartbeat(token))).toBe('TaskTimedOut');
  });

  it('answers InvalidToken for a token it never issued', () => {
    expect(nameOf(() => new TaskTokens().succeed('not-a-token', {}))).toBe('InvalidToken');
  });

  it('times a Task out when its heartbeat lapses, and a heartbeat keeps it alive', async () => {
    vi.useFakeTimers();
    try {
      const tokens = new TaskTokens();
      const { token, result } = tokens.issue(new AbortController().signal, 10);
      for (let i = 0; i < 3; i += 1) {
        vi.advanceTimersByTime(8000);
        tokens.heartbeat(token);
      }
      tokens.succeed(token, 'alive');
      await expect(result).resolves.toBe('alive');
      const lapsing = tokens.issue(new AbortController().signal, 10);
      const settled = expect(lapsing.result).rejects.toMatchObject({ name: 'States.HeartbeatTimeout' });
      vi.advanceTimersByTime(10_001);
      await settled;
    } finally {
      vi.useRealTimers();
    }
  });
});
