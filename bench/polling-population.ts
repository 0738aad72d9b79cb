/**
 * Adaptive polling on a simulated population of provider durations, against the seeds'
 * loop (check at once, then every 15 s).
 *
 * The history is learned the way a deployment learns it: a training population runs
 * on the seeds' schedule (no history yet) and each generation records the estimate the
 * status step records, through DurationHistory into DynamoDB (dynalite). A separate
 * test population of the same distribution then runs on the schedule planNextCheck
 * derives from that history, exactly as the create and status steps call it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateTableInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DurationHistory,
  EMPTY_HISTOGRAM,
  estimatedDurationSeconds,
  histogramQuantile,
} from '#shared/polling/duration-history.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { buildPollSchedule, planNextCheck, waitFromSchedule, type PollPosition } from '#shared/polling/schedule.js';
import { DEFAULT_POLLING_BOUNDS } from '#shared/polling/bounds.js';
import { ensureTable, startLocalDynamoDb } from '../local/dynamodb.js';

const MODEL = 'kling-video/v1.6/standard/text-to-video';
const TYPICAL_SECONDS = 186;

/**
 * The simulated provider: log-normal around the seeds' 186 s, plus a long tail of
 * jobs that wait behind others (busy hours).
 */
const POPULATION = {
  body: { medianSeconds: 186, logSigma: 0.2 },
  tail: { share: 0.05, medianSeconds: 450, logSigma: 0.5 },
  trainingSize: 2000,
  testSize: 20_000,
  seed: 20_260_101,
} as const;

export const describePopulation = (): string =>
  `log-normal(median ${POPULATION.body.medianSeconds} s, σ ${POPULATION.body.logSigma}) + ` +
  `${POPULATION.tail.share * 100} % tail log-normal(median ${POPULATION.tail.medianSeconds} s, σ ${POPULATION.tail.logSigma}); ` +
  `trained on ${POPULATION.trainingSize}, measured on ${POPULATION.testSize}`;

/** Seeded uniform generator (mulberry32): the bench draws the same populations every run. */
function seededUniform(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleDurations(count: number, uniform: () => number): number[] {
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: count }, () => {
    const { body, tail } = POPULATION;
    const part = uniform() < tail.share ? tail : body;
    return part.medianSeconds * Math.exp(part.logSigma * normal());
  });
}

/** Seconds to wait at a position in a generation's polling, as the create and status steps plan it. */
export type PollPlanner = (position: PollPosition) => Promise<number>;

export interface PolledGeneration {
  checks: number;
  lagSeconds: number;
  /** What the status step records when it finds the job done. */
  recordedSeconds: number;
}

/** Plays one generation of the given duration through a planner. */
async function pollGeneration(durationSeconds: number, plan: PollPlanner): Promise<PolledGeneration> {
  let elapsed = 0;
  let polls = 0;
  let lastWait: number;
  do {
    lastWait = await plan({ elapsedSeconds: elapsed, polls, remainingSeconds: 86_400 - elapsed });
    elapsed += lastWait;
    polls += 1;
  } while (elapsed < durationSeconds);
  return { checks: polls, lagSeconds: elapsed - durationSeconds, recordedSeconds: estimatedDurationSeconds(elapsed, lastWait) };
}

/** The seeds' loop: a check at once, then every 15 s. */
function seedLoopGeneration(durationSeconds: number): PolledGeneration {
  const intervals = Math.ceil(durationSeconds / 15);
  return { checks: 1 + intervals, lagSeconds: intervals * 15 - durationSeconds, recordedSeconds: durationSeconds };
}

export interface PollingResult {
  adaptive: { checks: number; lagSeconds: number };
  seedLoop: { checks: number; lagSeconds: number };
  learnedOffsets: number[];
  learnedMedianSeconds: number;
  /** The learned schedule as planNextCheck serves it (for the transitions run). */
  plan: PollPlanner;
  /** The measured population, for the transitions run to replay. */
  testDurations: number[];
}

function mean(values: PolledGeneration[], pick: (g: PolledGeneration) => number): number {
  return values.reduce((sum, g) => sum + pick(g), 0) / values.length;
}

/** Runs in batches so that thousands of recordings do not open thousands of sockets at once. */
async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(run));
}

/** `table`: the app table's keys, as the CDK app defines them. */
export async function measurePolling(table: Omit<CreateTableInput, 'TableName'>): Promise<PollingResult> {
  const uniform = seededUniform(POPULATION.seed);
  const training = sampleDurations(POPULATION.trainingSize, uniform);
  const test = sampleDurations(POPULATION.testSize, uniform);

  const dataDir = await mkdtemp(join(tmpdir(), 'reelhook-bench-history-'));
  const dynamo = await startLocalDynamoDb({ directory: dataDir });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const tableName = 'reelhook-bench';
    await ensureTable(client, { TableName: tableName, ...table });
    const history = new DurationHistory(createDocumentClient(client), tableName);
    const bounds = DEFAULT_POLLING_BOUNDS;

    // A new deployment: no history, so the seeds' schedule; every completion is recorded.
    const seedSchedule = buildPollSchedule({ histogram: EMPTY_HISTOGRAM, typicalSeconds: TYPICAL_SECONDS, bounds });
    const seedPlan: PollPlanner = async (position) => waitFromSchedule(seedSchedule, position, bounds);
    const trained = await Promise.all(training.map((duration) => pollGeneration(duration, seedPlan)));
    await inBatches(trained, 50, (generation) => history.recordDuration(MODEL, generation.recordedSeconds));

    const plan: PollPlanner = (position) =>
      planNextCheck({ model: MODEL, typicalSeconds: TYPICAL_SECONDS, history, bounds, ...position });
    const adaptive = await Promise.all(test.map((duration) => pollGeneration(duration, plan)));
    const seedLoop = test.map(seedLoopGeneration);

    const histogram = await history.loadHistogram(MODEL);
    const learned = buildPollSchedule({ histogram, typicalSeconds: TYPICAL_SECONDS, bounds });
    return {
      adaptive: { checks: mean(adaptive, (g) => g.checks), lagSeconds: mean(adaptive, (g) => g.lagSeconds) },
      seedLoop: { checks: mean(seedLoop, (g) => g.checks), lagSeconds: mean(seedLoop, (g) => g.lagSeconds) },
      learnedOffsets: learned.offsets,
      learnedMedianSeconds: histogramQuantile(histogram, 0.5) ?? Number.NaN,
      plan: async (position) => waitFromSchedule(learned, position, bounds),
      testDurations: test,
    };
  } finally {
    client.destroy();
    await dynamo.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
