/**
 * State transitions per generation, counted by running the deployed definition (read
 * out of the synthesized template) in the local engine with wait scale 0. The task
 * handlers stand in for the Lambdas: they play each generation's provider duration on
 * a simulated clock and plan the checks with the given planner, so the loop the
 * definition runs is the one the real create and status steps would make it run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '#shared/polling/bounds.js';
import type { PollPlan } from '#shared/workflow/steps.js';
import { LocalStepFunctions, type LocalTaskHandler } from '../local/stepfunctions/engine.js';
import type { LocalManifest } from '../local/template/manifest.js';
import type { PollPlanner } from './polling-population.js';

export interface TransitionCount {
  transitionsPerGeneration: number;
  checksPerGeneration: number;
  /** StateEntered per state name, per generation. */
  perState: Record<string, number>;
}

interface SimulatedGeneration {
  durationSeconds: number;
  elapsedSeconds: number;
}

const NOT_A_GENERATION_STEP: LocalTaskHandler = async () => {
  throw new Error('the bench runs generations only; this function is not one of their steps');
};

/**
 * The stand-in steps, keyed by function folder (functions/<name>/handler.ts). Admission
 * admits at once (`admit` resumes the task token): a provider slot is always free.
 */
function benchSteps(
  generations: Map<string, SimulatedGeneration>,
  plan: PollPlanner,
  onCheck: () => void,
  admit: (taskToken: string) => void,
): Record<string, LocalTaskHandler> {
  const generationOf = (event: unknown): { id: string; generation: SimulatedGeneration } => {
    const id = (event as { generation_id: string }).generation_id;
    const generation = generations.get(id);
    if (!generation) throw new Error(`no simulated generation ${id}`);
    return { id, generation };
  };
  const pending = async (generation: SimulatedGeneration, polls: number): Promise<PollPlan> => {
    const wait = await plan({
      elapsedSeconds: generation.elapsedSeconds,
      polls,
      remainingSeconds: 86_400 - generation.elapsedSeconds,
    });
    return { status: 'pending', polls, wait_seconds: wait, next_check_at: waitUntil(wait, 0) };
  };
  return {
    admit: async (event) => {
      generationOf(event);
      admit((event as { task_token: string }).task_token);
    },
    create: async (event) => pending(generationOf(event).generation, 0),
    status: async (event) => {
      const { generation } = generationOf(event);
      const previous = (event as { poll: PollPlan }).poll;
      onCheck();
      generation.elapsedSeconds += previous.wait_seconds;
      const polls = previous.polls + 1;
      if (generation.elapsedSeconds >= generation.durationSeconds) {
        return { status: 'completed', polls, wait_seconds: 0, next_check_at: waitUntil(0, 0) };
      }
      return pending(generation, polls);
    },
    copy: async (event) => {
      const { id } = generationOf(event);
      return {
        bucket: 'bench',
        key: `videos/${id}.mp4`,
        s3_uri: `s3://bench/videos/${id}.mp4`,
        size_bytes: 1,
        sha256: '0'.repeat(64),
        content_type: 'video/mp4',
      };
    },
    record: async (event) => ({
      outcome: 'completed',
      event_type: 'generation.completed',
      webhook_id: `msg_${generationOf(event).id}_completed`,
    }),
    notify: async () => ({ done: true }),
  };
}

/** Runs one execution per duration, all at once, and counts StateEntered events. */
export async function countTransitions(manifest: LocalManifest, durations: number[], plan: PollPlanner): Promise<TransitionCount> {
  const generations = new Map<string, SimulatedGeneration>();
  durations.forEach((durationSeconds, i) => generations.set(`gen_bench${i}`, { durationSeconds, elapsedSeconds: 0 }));
  let checks = 0;
  // The admission stand-in resumes its own task token in the engine made below.
  const steps = benchSteps(
    generations,
    plan,
    () => {
      checks += 1;
    },
    (taskToken) => engine.taskTokens.succeed(taskToken, { admitted: true, waited_since: new Date().toISOString() }),
  );
  const lambdaHandlers: Record<string, LocalTaskHandler> = {};
  for (const fn of manifest.functions) {
    const folder = /^functions\/([^/]+)\/handler\.ts$/.exec(fn.entry)?.[1] ?? '';
    lambdaHandlers[fn.arn] = steps[folder] ?? NOT_A_GENERATION_STEP;
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'reelhook-bench-transitions-'));
  const engine = new LocalStepFunctions({
    definition: manifest.definition,
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook-bench',
    lambdaHandlers,
    waitScale: 0,
    journalPath: join(dataDir, 'executions.ndjson'),
  });
  try {
    // The input the API starts a generation's run with (its admission may wait a day).
    const input = (id: string) => JSON.stringify({ generation_id: id, admission: { timeout_seconds: 86_400 } });
    const arns = [...generations.keys()].map((id) => engine.startExecution(id, input(id)).executionArn);
    await engine.idle();
    const failed = arns.map((arn) => engine.describeExecution(arn)).filter((execution) => execution.status !== 'SUCCEEDED');
    if (failed.length > 0) {
      throw new Error(`${failed.length} bench executions did not succeed, e.g. ${failed[0]?.error}: ${failed[0]?.cause}`);
    }
    const perState: Record<string, number> = {};
    let total = 0;
    for (const [state, count] of Object.entries(engine.stateEntries())) {
      perState[state] = count / durations.length;
      total += count;
    }
    return { transitionsPerGeneration: total / durations.length, checksPerGeneration: checks / durations.length, perState };
  } finally {
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The seeds' loop in the same definition: Submit plans a check at once, every Check Status plans 15 s. */
export const fixedFifteenSecondPlan: PollPlanner = async ({ polls }) => (polls === 0 ? 0 : 15);
