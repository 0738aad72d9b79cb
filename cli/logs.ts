/**
 * `reelhook logs <id> [--follow] [--json]`: one generation's step trace, read from
 * GET /v2/video/generations/ID/history (its Step Functions execution, summarized), one
 * line per state with its time, duration, and the retries and errors it had.
 *
 * It talks to REELHOOK_URL with REELHOOK_API_KEY, else to the running `reelhook dev` of
 * the data folder (running-dev.ts). It never starts a stack: a trace is read from a server
 * that has the generation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Reelhook, type GenerationHistory, type StateSummary, type StepError } from '../client/index.js';
import { requireServer } from './running-dev.js';
import { UsageError, helpRequested, parseCommandLine } from './usage.js';

export const LOGS_HELP = `  reelhook logs ID [--follow] [--json]
      One generation's steps: a line per state with its time (UTC), duration, retries and
      errors. --follow keeps printing new steps until the generation's run ends. Uses
      REELHOOK_URL and REELHOOK_API_KEY when set, else the running reelhook dev of the
      data folder (REELHOOK_DATA_DIR, default .reelhook/).
`;

const OPTIONS = { follow: { type: 'boolean' }, json: { type: 'boolean' } } as const;

/** How often --follow reads the history again. */
const FOLLOW_INTERVAL_MS = 1000;
/** Causes are shown on one line, this long at most (the API already redacts them). */
const SHOWN_CAUSE_CHARS = 120;

export async function runLogs(args: string[]): Promise<number> {
  if (helpRequested(args)) {
    process.stdout.write(`Usage:\n${LOGS_HELP}`);
    return 0;
  }
  const { values, positionals } = parseCommandLine(args, OPTIONS, true);
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError('usage: reelhook logs ID [--follow] [--json]');
  const id = positionals[0];
  const server = await requireServer();
  const client = new Reelhook({ baseUrl: server.url, apiKey: server.apiKey });
  const follow = values.follow === true;
  const asJson = values.json === true;

  if (!follow) {
    const history = await client.history(id);
    process.stdout.write(asJson ? `${JSON.stringify(history, null, 2)}\n` : `${describeHistory(history).join('\n')}\n`);
    return 0;
  }
  // A state is printed once, when it has ended; the rest when the run ends.
  let printed = 0;
  for (;;) {
    const history = await client.history(id);
    const execution = history.execution;
    const states = execution?.states ?? [];
    const ended = execution !== null && execution.status !== 'RUNNING';
    while (printed < states.length && (ended || states[printed]!.exited_at !== null)) {
      const state = states[printed]!;
      process.stdout.write(`${asJson ? JSON.stringify(state) : stateLine(state)}\n`);
      printed += 1;
    }
    if (ended) {
      const { states: _states, ...end } = execution;
      process.stdout.write(`${asJson ? JSON.stringify({ generation_id: id, ...end }) : executionLine(history)}\n`);
      return 0;
    }
    await sleep(FOLLOW_INTERVAL_MS);
  }
}

/** The whole trace as lines: a header, one line per state, and how the run ended. */
function describeHistory(history: GenerationHistory): string[] {
  const { execution } = history;
  if (!execution) return [`${history.generation_id}: its run has not started yet (or its history is no longer kept)`];
  const lines = [`${history.generation_id}  started ${execution.started_at ?? '?'}, ${execution.states.length} states`];
  lines.push(...execution.states.map(stateLine));
  lines.push(executionLine(history));
  if (execution.truncated) lines.push(`(only the first ${execution.event_count} history events were read)`);
  return lines;
}

const clock = (iso: string): string => iso.slice(11, 23);

function stateLine(state: StateSummary): string {
  const duration = state.duration_ms === null ? 'running' : formatDuration(state.duration_ms);
  const parts = [clock(state.entered_at), state.name.padEnd(24), duration.padStart(8)];
  if (state.retries.length > 0) {
    const last = state.retries.at(-1)!;
    parts.push(` ${state.retries.length} ${state.retries.length === 1 ? 'retry' : 'retries'}, last: ${shownError(last)}`);
  }
  if (state.error) parts.push(` failed: ${shownError(state.error)}`);
  return parts.join(' ').trimEnd();
}

function executionLine(history: GenerationHistory): string {
  const execution = history.execution;
  if (!execution) return `${history.generation_id}: no run yet`;
  const took = execution.started_at && execution.stopped_at ? ` after ${formatDuration(Date.parse(execution.stopped_at) - Date.parse(execution.started_at))}` : '';
  const why = execution.error ? `: ${shownError(execution.error)}` : '';
  return execution.status === 'RUNNING' ? 'run RUNNING' : `run ${execution.status}${took}${why}`;
}

function shownError(error: StepError): string {
  if (!error.cause) return error.error;
  const oneLine = error.cause.replace(/\s+/g, ' ').trim();
  return `${error.error} (${oneLine.length > SHOWN_CAUSE_CHARS ? `${oneLine.slice(0, SHOWN_CAUSE_CHARS - 1)}…` : oneLine})`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
