import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { MAX_CAUSE_CHARS, summarizeExecutionHistory } from '#shared/workflow/execution-history.js';

/** A fixture as the SDK hands it over: timestamps as Dates. */
function fixture(name: string): HistoryEvent[] {
  const events = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', name), 'utf8')) as Array<HistoryEvent & { timestamp: string }>;
  return events.map((event) => ({ ...event, timestamp: new Date(event.timestamp) }));
}

/** The same history as CDK's LambdaInvoke (`arn:aws:states:::lambda:invoke`) records it: Task* events. */
function asLambdaInvoke(events: HistoryEvent[]): HistoryEvent[] {
  return events.map((event) => {
    const { lambdaFunctionFailedEventDetails: failed, ...rest } = event;
    const type = event.type?.replace(/^LambdaFunction/, 'Task');
    return failed ? { ...rest, type: 'TaskFailed', taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', ...failed } } : { ...rest, type } as HistoryEvent;
  });
}

const retried = fixture('history-status-retried.json');
const failed = fixture('history-status-failed.json');

describe('summarizeExecutionHistory', () => {
  it('lists the states entered in order, with their times and durations', () => {
    const summary = summarizeExecutionHistory(retried, { truncated: false });
    expect(summary.states.map((state) => state.name)).toEqual([
      'Delivery Only?',
      'Wait For Provider Slot',
      'Submit Generation',
      'Provider Accepted?',
      'Wait For Provider',
      'Check Status',
      'Provider Finished?',
      'Wait For Provider',
      'Check Status',
      'Provider Finished?',
      'Copy Video',
      'Record Completion',
      'Notify Callback',
      'Callback Settled?',
      'Generation Outcome?',
      'Generation Completed',
    ]);
    expect(summary.states[1]).toMatchObject({ type: 'Task', entered_at: '2026-12-03T08:29:14.022Z', exited_at: '2026-12-03T08:29:14.185Z', duration_ms: 163 });
    expect(summary.states[4]?.type).toBe('Wait');
    for (const state of summary.states) expect(state.duration_ms).toBe(Date.parse(state.exited_at!) - Date.parse(state.entered_at));
    expect(summary).toMatchObject({
      status: 'SUCCEEDED',
      started_at: '2026-12-03T08:29:14.018Z',
      stopped_at: '2026-12-03T08:29:14.575Z',
      error: null,
      event_count: 62,
      truncated: false,
    });
  });

  it('shows a retried Task attempt with its error and the message of its cause', () => {
    const states = summarizeExecutionHistory(retried, { truncated: false }).states;
    const check = states.find((state) => state.name === 'Check Status')!;
    expect(check.retries).toHaveLength(2);
    expect(check.retries[0]).toEqual({
      at: '2026-12-03T08:29:14.240Z',
      error: 'ProviderUnavailable',
      cause: expect.stringMatching(/^AI\/ML API GET http:\/\/127\.0\.0\.1:\d+\/v2\/video\/generations answered 502: <html>/),
    });
    expect(check.error).toBeNull();
    expect(states.filter((state) => state !== check).every((state) => state.retries.length === 0)).toBe(true);
  });

  it('reads the retries of a lambda:invoke Task as well', () => {
    const check = summarizeExecutionHistory(asLambdaInvoke(retried), { truncated: false }).states.find((state) => state.name === 'Check Status')!;
    expect(check.retries.map((retry) => retry.error)).toEqual(['ProviderUnavailable', 'ProviderUnavailable']);
  });

  it('tells the retries of a failed step from the failure that ended it, and the execution from its states', () => {
    const summary = summarizeExecutionHistory(failed, { truncated: false });
    const check = summary.states.find((state) => state.name === 'Check Status' && state.error !== null)!;
    expect(check.retries).toHaveLength(5);
    expect(check.error).toEqual({ error: 'ProviderUnavailable', cause: expect.stringContaining('answered 502') });
    expect(summary.states.map((state) => state.name).slice(-3)).toEqual(['Callback Settled?', 'Generation Outcome?', 'Generation Failed']);
    expect(summary.status).toBe('FAILED');
    expect(summary.error).toEqual({ error: 'ProviderUnavailable', cause: expect.stringContaining('answered 502') });
  });

  it('shows a running execution with its current state still open', () => {
    const cut = retried.findIndex((event) => event.type === 'LambdaFunctionStarted' && event.id === 24);
    const summary = summarizeExecutionHistory(retried.slice(0, cut + 1), { truncated: false });
    expect(summary).toMatchObject({ status: 'RUNNING', stopped_at: null, error: null });
    expect(summary.states.at(-1)).toMatchObject({ name: 'Check Status', exited_at: null, duration_ms: null, error: null });
    expect(summary.states.at(-1)?.retries).toHaveLength(1);
  });

  it('closes the state an aborted execution was in at the time it stopped', () => {
    const waiting = retried.slice(0, 17);
    const aborted = { id: 18, previousEventId: 17, type: 'ExecutionAborted', timestamp: new Date('2026-12-03T08:30:00.000Z'), executionAbortedEventDetails: { error: 'Cancelled', cause: 'cancelled by the caller' } } as HistoryEvent;
    const summary = summarizeExecutionHistory([...waiting, aborted], { truncated: false });
    expect(summary).toMatchObject({ status: 'ABORTED', error: { error: 'Cancelled', cause: 'cancelled by the caller' } });
    expect(summary.states.at(-1)).toMatchObject({ name: 'Wait For Provider', exited_at: '2026-12-03T08:30:00.000Z' });
  });

  it('redacts bearer tokens and URL queries from causes and cuts long ones short', () => {
    const cause = JSON.stringify({
      errorType: 'CopyFailed',
      errorMessage: `download of https://cdn.example.com/v.mp4?X-Amz-Signature=abc123 failed; echo: Authorization: Bearer sk-live-secret ${'x'.repeat(600)}`,
    });
    const failedAttempt = { id: 3, previousEventId: 2, type: 'TaskFailed', timestamp: new Date(), taskFailedEventDetails: { error: 'CopyFailed', cause } } as HistoryEvent;
    const events: HistoryEvent[] = [
      { id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: new Date() },
      { id: 2, previousEventId: 1, type: 'TaskStateEntered', timestamp: new Date(), stateEnteredEventDetails: { name: 'Copy Video' } },
      failedAttempt,
      { id: 4, previousEventId: 3, type: 'TaskScheduled', timestamp: new Date() },
    ];
    const shown = summarizeExecutionHistory(events, { truncated: true });
    const retry = shown.states[0]!.retries[0]!;
    expect(retry.cause).toContain('https://cdn.example.com/v.mp4 failed');
    expect(retry.cause).toContain('Bearer [redacted]');
    expect(retry.cause).not.toMatch(/abc123|sk-live-secret/);
    expect(retry.cause).toHaveLength(MAX_CAUSE_CHARS);
    expect(shown.truncated).toBe(true);
  });
});
