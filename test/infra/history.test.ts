/**
 * The longest generation fits in one execution's history: computed from the state
 * machine definition and the polling bounds as synthesized, not from a hand list, and
 * checked against the history the local engine records for such a run of the deployed
 * definition, read back through GetExecutionHistory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PollingBounds } from '#shared/polling/bounds.js';
import { EMPTY_HISTOGRAM } from '#shared/polling/duration-history.js';
import { planNextCheck } from '#shared/polling/schedule.js';
import { nextRetryDelaySeconds } from '#shared/webhooks/delivery.js';
import {
  HISTORY_EVENT_LIMIT,
  HISTORY_EVENTS_PER_EXECUTION,
  HISTORY_EVENTS_PER_POLL,
  HISTORY_EVENTS_PER_RETRY,
  HISTORY_EVENTS_PER_STATE,
  longWaitFloorSeconds,
  MAX_GENERATION_SECONDS,
  POLLING_HISTORY_BUDGET,
  worstCasePolls,
} from '../../infra/history.js';
import { LOCAL_NAMES } from '../../local/names.js';
import { LocalStepFunctions, type LocalTaskHandler } from '../../local/stepfunctions/engine.js';
import { startLocalSfnServer } from '../../local/stepfunctions/server.js';
import { type LocalManifest, loadLocalManifest } from '../../local/template/manifest.js';

interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Choices?: Array<{ Next: string }>;
}

let manifest: LocalManifest;
let states: Record<string, State>;
let bounds: PollingBounds;

beforeAll(async () => {
  manifest = await loadLocalManifest(LOCAL_NAMES);
  states = manifest.definition.States as Record<string, State>;
  const status = manifest.functions.find((fn) => fn.entry === 'functions/status/handler.ts');
  if (!status) throw new Error('no status function in the template');
  const seconds = (name: string) => Number(status.environment[name]);
  bounds = {
    firstCheckSeconds: status.environment.REELHOOK_POLL_FIRST_SECONDS === undefined ? null : seconds('REELHOOK_POLL_FIRST_SECONDS'),
    minIntervalSeconds: seconds('REELHOOK_POLL_MIN_SECONDS'),
    maxIntervalSeconds: seconds('REELHOOK_POLL_MAX_SECONDS'),
  };
});

function eventsOf(name: string): number {
  const type = states[name]?.Type;
  const events = type === undefined ? undefined : HISTORY_EVENTS_PER_STATE[type];
  if (events === undefined) throw new Error(`no event count for state ${name} (${type})`);
  // A callback Task also logs TaskSubmitted once its Lambda has returned, before it waits for the token.
  return states[name]?.Resource?.endsWith('.waitForTaskToken') ? events + 1 : events;
}

/** The states of the cycle that starts at `start`, following Next, then each Choice's Default. */
function loopFrom(start: string): string[] {
  const loop: string[] = [];
  for (let name: string | undefined = start; name !== undefined && !(loop.length > 0 && name === start); ) {
    if (loop.includes(name) || loop.length > 20) throw new Error(`no cycle back to ${start}`);
    loop.push(name);
    const state: State | undefined = states[name];
    name = state?.Type === 'Choice' ? state.Default : state?.Next;
  }
  return loop;
}

/** Asserts that each step of a route is a transition of the definition, and returns the route. */
function route(...names: string[]): string[] {
  for (let i = 1; i < names.length; i += 1) {
    const from = states[names[i - 1] ?? ''];
    const targets = [from?.Next, from?.Default, ...(from?.Choices ?? []).map((choice) => choice.Next)];
    expect(targets, `${names[i - 1]} → ${names[i]}`).toContain(names[i]);
  }
  return names;
}

/** Webhook attempts of one event when every one fails: the retry schedule's length. */
function maxDeliveryAttempts(): number {
  let attempts = 1;
  while (nextRetryDelaySeconds(attempts, null, () => 0) !== null) attempts += 1;
  return attempts;
}

/** The event count of the longest generation, computed from the definition. */
function longestRun() {
  const polls = worstCasePolls(bounds);
  const attempts = maxDeliveryAttempts();
  const firstPart = route('Delivery Only?', 'Wait For Provider Slot', 'Submit Generation', 'Wait For Provider');
  const completion = route('Provider Finished?', 'Copy Video', 'Record Completion', 'Notify Callback', 'Callback Settled?');
  const deliveryRetry = loopFrom('Wait For Callback Retry');
  expect(deliveryRetry).toEqual(['Wait For Callback Retry', 'Notify Callback', 'Callback Settled?']);
  const ending = route('Callback Settled?', 'Generation Outcome?', 'Generation Completed');
  const sum = (names: string[]) => names.reduce((total, name) => total + eventsOf(name), 0);

  const fixed =
    HISTORY_EVENTS_PER_EXECUTION +
    sum(firstPart.slice(0, -1)) + // the first Wait For Provider is part of the first poll
    sum(completion.slice(1)) + // Provider Finished? is part of the last poll
    (attempts - 1) * sum(deliveryRetry) +
    sum(ending.slice(1));
  const pollingEvents = polls * HISTORY_EVENTS_PER_POLL;
  const total = fixed + pollingEvents;
  return { polls, attempts, fixed, pollingEvents, total, withRetryPerPoll: total + polls * HISTORY_EVENTS_PER_RETRY };
}

class ProviderUnavailable extends Error {
  override name = 'ProviderUnavailable';
}

/**
 * Runs the deployed definition in the local engine as the longest generation goes: admitted
 * at once, `polls` status checks of which only the last finds the video (each failing once
 * first with `retryEveryPoll`), every webhook attempt but the last failing. The handlers
 * answer as the real ones do, shaped as the definition's Choices read them; the count is
 * read back through GetExecutionHistory.
 */
async function recordedEvents(run: { polls: number; deliveryAttempts: number; retryEveryPoll: boolean }): Promise<number> {
  const arnOf = (entry: string) => {
    const fn = manifest.functions.find((candidate) => candidate.entry === `functions/${entry}/handler.ts`);
    if (!fn) throw new Error(`no ${entry} function in the template`);
    return fn.arn;
  };
  const later = () => new Date(Date.now() + 5_000).toISOString();
  let checks = 0;
  let failedThisPoll = false;
  let deliveries = 0;
  const handlers: Record<string, LocalTaskHandler> = {
    [arnOf('admit')]: async (event) => {
      const { task_token } = event as { task_token: string };
      setImmediate(() => engine.taskTokens.succeed(task_token, { admitted: true }));
      return { waiting: true };
    },
    [arnOf('create')]: async () => ({ status: 'processing', next_check_at: later() }),
    [arnOf('status')]: async () => {
      if (run.retryEveryPoll && !failedThisPoll) {
        failedThisPoll = true;
        throw new ProviderUnavailable('the provider answered 503');
      }
      failedThisPoll = false;
      checks += 1;
      return { status: checks >= run.polls ? 'completed' : 'processing', next_check_at: later() };
    },
    [arnOf('copy')]: async () => ({ key: 'videos/longest.mp4', size_bytes: 1 }),
    [arnOf('record')]: async () => ({ outcome: 'completed' }),
    [arnOf('notify')]: async () => {
      deliveries += 1;
      return deliveries >= run.deliveryAttempts ? { done: true } : { done: false, next_attempt_at: later() };
    },
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'reelhook-history-'));
  const engine = new LocalStepFunctions({
    definition: manifest.definition,
    stateMachineArn: LOCAL_NAMES.stateMachineArn,
    lambdaHandlers: handlers,
    waitScale: 0,
    journalPath: join(dataDir, 'executions.ndjson'),
  });
  const server = await startLocalSfnServer(engine);
  const client = new SFNClient({ endpoint: server.endpoint, region: LOCAL_NAMES.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { executionArn } = engine.startExecution('longest', JSON.stringify({ generation_id: 'longest', admission: { timeout_seconds: MAX_GENERATION_SECONDS } }));
    await engine.idle();
    expect(engine.describeExecution(executionArn)).toMatchObject({ status: 'SUCCEEDED' });
    expect(checks).toBe(run.polls);
    let count = 0;
    let nextToken: string | undefined;
    do {
      const page = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken, includeExecutionData: false }));
      count += page.events?.length ?? 0;
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return count;
  } finally {
    client.destroy();
    await server.close();
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('execution history of the longest generation', () => {
  it('counts the events of one poll from the definition', () => {
    const poll = loopFrom('Wait For Provider');
    expect(poll).toEqual(['Wait For Provider', 'Check Status', 'Provider Finished?']);
    expect(poll.reduce((sum, name) => sum + eventsOf(name), 0)).toBe(HISTORY_EVENTS_PER_POLL);
  });

  it('polls a 24 h generation far fewer times than a flat minimum interval would', () => {
    expect(bounds).toEqual({ firstCheckSeconds: null, minIntervalSeconds: 5, maxIntervalSeconds: 120 });
    const flat = Math.ceil(MAX_GENERATION_SECONDS / bounds.minIntervalSeconds);
    expect(flat * HISTORY_EVENTS_PER_POLL).toBeGreaterThan(HISTORY_EVENT_LIMIT);
    expect(worstCasePolls(bounds)).toBeLessThan(flat / 20);
  });

  it('stays far below the 25,000-event limit, even with a retry on every poll', () => {
    const { polls, attempts, fixed, pollingEvents, total, withRetryPerPoll } = longestRun();
    console.info(
      [
        `longest generation: ${MAX_GENERATION_SECONDS} s, bounds ${JSON.stringify(bounds)}`,
        `polls: ${polls} × ${HISTORY_EVENTS_PER_POLL} events = ${pollingEvents}`,
        `rest of the run (submit, copy, record, ${attempts} webhook attempts, outcome): ${fixed}`,
        `total: ${total} of ${HISTORY_EVENT_LIMIT} (${((100 * total) / HISTORY_EVENT_LIMIT).toFixed(1)} %)`,
        `with one retry on every poll: ${withRetryPerPoll}`,
        `retries that still fit: ${Math.floor((HISTORY_EVENT_LIMIT - total) / HISTORY_EVENTS_PER_RETRY)}`,
      ].join('\n'),
    );

    expect(pollingEvents).toBeLessThanOrEqual(POLLING_HISTORY_BUDGET);
    expect(total).toBeLessThan(HISTORY_EVENT_LIMIT * 0.3);
    expect(withRetryPerPoll).toBeLessThan(HISTORY_EVENT_LIMIT * 0.4);
  });

  it('is what the local engine records for that run of the deployed definition, retries on every poll included', async () => {
    const { polls, attempts, total, withRetryPerPoll } = longestRun();
    const recorded = await recordedEvents({ polls, deliveryAttempts: attempts, retryEveryPoll: false });
    const withRetries = await recordedEvents({ polls, deliveryAttempts: attempts, retryEveryPoll: true });
    console.info(`recorded by the local engine: ${recorded} events, ${withRetries} with a retry on every poll`);
    expect(recorded).toBe(total);
    expect(withRetries).toBe(withRetryPerPoll);
  });

  it('never waits less than the long-wait floor once the schedule of a model without history is past', async () => {
    // The schedule a model gets before it has any history, simulated for 24 h.
    const noHistory = { loadHistogram: async () => EMPTY_HISTOGRAM };
    let elapsed = 0;
    let polls = 0;
    const waits: Array<[number, number]> = [];
    while (elapsed < MAX_GENERATION_SECONDS) {
      const wait = await planNextCheck({
        model: 'no-history',
        typicalSeconds: 186,
        history: noHistory,
        bounds,
        elapsedSeconds: elapsed,
        polls,
        remainingSeconds: MAX_GENERATION_SECONDS - elapsed,
      });
      waits.push([elapsed, wait]);
      elapsed += Math.max(wait, 1);
      polls += 1;
    }
    expect(polls * HISTORY_EVENTS_PER_POLL).toBeLessThanOrEqual(POLLING_HISTORY_BUDGET);
    const pastOneHour = waits.filter(([at]) => at >= 3600 && at + 1 < MAX_GENERATION_SECONDS - bounds.maxIntervalSeconds);
    for (const [at, wait] of pastOneHour) expect(wait, `wait at ${at} s`).toBeGreaterThanOrEqual(longWaitFloorSeconds(at, bounds));
  });
});
