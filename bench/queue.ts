/**
 * The provider queue under a burst (issue: no generation lost to provider backpressure):
 * 500 generations against the simulator capped at 10 concurrent jobs, once with the
 * limit configured and once with the adaptive default, each in its own process
 * (bench/queue-burst.ts). The configured run first runs 10 generations alone, the
 * unloaded figures the burst is held to. Runnable alone: `tsx bench/queue.ts`.
 */
import { fileURLToPath } from 'node:url';
import { startTsChild, stopAllChildren } from './processes.js';
import { renderTable, type Row } from './report.js';
import type { QueueBurstResult } from './queue-burst.js';

export const QUEUE_BENCH = {
  generations: 500,
  cap: 10,
  /** The simulator's job length: 500 jobs of 4 s through 10 slots is 200 s at the ideal rate. */
  jobSeconds: 4,
  /**
   * Polls every 1–2 s scaled to 250–500 ms: detection lag stays a few percent of a job,
   * and the polls (each a Lambda step in the one local process) leave CPU for the rest;
   * at 50–100 ms they alone saturated the process's one core.
   */
  waitScale: 0.25,
  timeoutMs: 25 * 60_000,
} as const;

export interface QueueBenchResult {
  configured: QueueBurstResult;
  adaptive: QueueBurstResult;
}

function runScenario(mode: 'configured' | 'adaptive', unloaded: boolean): Promise<QueueBurstResult> {
  const { generations, cap, jobSeconds, waitScale, timeoutMs } = QUEUE_BENCH;
  const args = [mode, String(generations), String(cap), String(jobSeconds), String(waitScale), ...(unloaded ? ['--unloaded'] : [])];
  return startTsChild('bench/queue-burst.ts', args).result<QueueBurstResult>(timeoutMs);
}

/** One after the other: each scenario's throughput is measured on the whole machine. */
export async function measureQueue(): Promise<QueueBenchResult> {
  const configured = await runScenario('configured', true);
  const adaptive = await runScenario('adaptive', false);
  return { configured, adaptive };
}

export function queueRows({ configured, adaptive }: QueueBenchResult): Row[] {
  const { generations, cap, jobSeconds } = QUEUE_BENCH;
  const ideal = cap / jobSeconds;
  const unloaded = configured.unloaded!;
  const perMode = (result: QueueBurstResult, postsLimit: number): Row[] => {
    const label = `queue ${result.mode}`;
    const { burst } = result;
    return [
      {
        metric: `${label}: completed of ${generations}`,
        measured: burst.completed,
        baseline: generations,
        unit: '',
        target: { kind: 'min', limit: 1, on: 'ratio' },
        notes: `simulator capped at ${cap} jobs of ${jobSeconds} s, 429 with Retry-After beyond`,
      },
      {
        metric: `${label}: provider POSTs per generation`,
        measured: burst.createsPerGeneration,
        unit: '',
        target: { kind: 'max', limit: postsLimit, on: 'measured' },
        notes: `${burst.rejectedCreates} answered 429; provider peak ${burst.peakConcurrency} of ${cap}; final limit ${result.finalLimit}`,
      },
      {
        metric: `${label}: throughput`,
        measured: burst.completed / burst.seconds,
        baseline: ideal,
        unit: '/s',
        target: { kind: 'min', limit: 0.9, on: 'ratio' },
        notes: `baseline: cap ÷ job time; slots held ${burst.meanSlotSeconds.toFixed(2)} s per ${jobSeconds} s job`,
      },
      {
        metric: `${label}: other key's wait`,
        measured: result.otherKeyWaitSeconds,
        baseline: burst.meanSlotSeconds,
        unit: 's',
        target: { kind: 'max', limit: 2, on: 'ratio' },
        notes: `one generation of a second key behind ${generations - 2 * cap}+ queued; baseline: one slot turnover`,
      },
      {
        metric: `${label}: state transitions per generation`,
        measured: burst.transitionsPerGeneration,
        baseline: unloaded.transitionsPerGeneration,
        unit: '',
        target: { kind: 'max', limit: 1.5, on: 'ratio' },
        notes: `baseline: ${unloaded.generations} generations with no queue (StateEntered in the local engine)`,
      },
    ];
  };
  return [...perMode(configured, 1.1), ...perMode(adaptive, 1.5)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const result = await measureQueue();
    process.stdout.write(`${renderTable(queueRows(result))}\n\n${JSON.stringify(result)}\n`);
  } finally {
    await stopAllChildren();
  }
}
