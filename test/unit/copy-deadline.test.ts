import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { copyDeadline } from '../../functions/copy/deadline.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('copyDeadline', () => {
  it('stops a 15-minute invocation 30 s before its timeout', () => {
    const deadline = copyDeadline(900_000);
    vi.advanceTimersByTime(869_999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe("30.0 s before the function's timeout");
  });

  it('keeps a quarter of a short invocation’s time as its margin', () => {
    const deadline = copyDeadline(6_000);
    vi.advanceTimersByTime(4_499);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.reason).toBe("1.5 s before the function's timeout");
  });

  it('never fires once cleared', () => {
    const deadline = copyDeadline(6_000);
    deadline.clear();
    vi.advanceTimersByTime(10_000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
