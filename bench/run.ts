/**
 * `npm run bench`: every performance target of reelhook as a ratio against a baseline
 * measured in the same run, on this machine. Prints one table (Markdown) on stdout,
 * progress on stderr, and writes bench/results.json. Traffic stays on loopback; every
 * child process is stopped before it exits.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PART_SIZE_BYTES, DEFAULT_QUEUE_SIZE } from '#shared/video/copy.js';
import { LOCAL_NAMES } from '../local/names.js';
import { loadLocalManifest } from '../local/template/manifest.js';
import { measureBundles } from './bundles.js';
import { MiB, mibPerSecond, startCopyBench, type CopySettings } from './copy.js';
import { E2E, measureE2e } from './e2e.js';
import { describePopulation, measurePolling } from './polling-population.js';
import { describePrices, usdPerGeneration } from './pricing.js';
import { startTsChild, stopAllChildren } from './processes.js';
import { isMet, ratioOf, renderTable, type Row } from './report.js';
import { measureQueue, QUEUE_BENCH, queueRows } from './queue.js';
import { countTransitions, fixedFifteenSecondPlan } from './transitions.js';

const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));
/** Generations replayed through the state machine: equal-probability strata of the measured population. */
const TRANSITION_SAMPLE = 1000;
/** The copy step's defaults (functions/shared/video/copy.ts): the bench measures what deploys. */
const COPY_SETTINGS: CopySettings = { partMiB: DEFAULT_PART_SIZE_BYTES / MiB, queueSize: DEFAULT_QUEUE_SIZE, repeats: 3 };
const KB = 1024;


const progress = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
};
const startedAt = performance.now();

/** One duration per equal-probability stratum, so a smaller replay has the population's mean. */
function stratified(durations: number[], count: number): number[] {
  const sorted = [...durations].sort((a, b) => a - b);
  return Array.from({ length: count }, (_, i) => sorted[Math.floor(((i + 0.5) * sorted.length) / count)] ?? 0);
}

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

/** Latencies of bench/post-floor.ts, run in a fresh process. */
async function measurePostFloor(): Promise<number[]> {
  const floor = startTsChild('bench/post-floor.ts', [String(E2E.postBursts), String(E2E.postConcurrency)]);
  return (await floor.result<{ latenciesMs: number[] }>(120_000)).latenciesMs;
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'reelhook-bench-'));
  const devDir = join(workDir, 'dev');
  try {
    progress('synthesizing the CDK app (cached in the dev stack’s data folder)');
    const previousDataDir = process.env.REELHOOK_DATA_DIR;
    process.env.REELHOOK_DATA_DIR = devDir;
    const manifest = await loadLocalManifest(LOCAL_NAMES);
    if (previousDataDir === undefined) delete process.env.REELHOOK_DATA_DIR;
    else process.env.REELHOOK_DATA_DIR = previousDataDir;
    const table = manifest.table.createTableInput;

    progress(`adaptive polling on a simulated population: ${describePopulation()}`);
    const polling = await measurePolling(table);

    progress(`state transitions: ${TRANSITION_SAMPLE} generations through the deployed definition, adaptive then fixed 15 s`);
    const sample = stratified(polling.testDurations, TRANSITION_SAMPLE);
    const adaptive = await countTransitions(manifest, sample, polling.plan);
    const fixed = await countTransitions(manifest, sample, fixedFifteenSecondPlan);
    const usage = (count: typeof adaptive) => ({
      stateTransitions: count.transitionsPerGeneration,
      smallInvocations: 4 + count.checksPerGeneration,
      copyInvocations: 1,
    });

    progress('bundling each functions/*/handler.ts like NodejsFunction, timing cold imports');
    const bundles = await measureBundles(manifest, join(workDir, 'bundles'));

    progress(`copy: 100 MiB and 1 GiB into s3rver vs a plain download (${COPY_SETTINGS.partMiB} MiB parts × ${COPY_SETTINGS.queueSize})`);
    const copyBench = await startCopyBench();
    let copySmall;
    let copyLarge;
    let s3Ceiling;
    try {
      copySmall = await copyBench.measure(100 * MiB, COPY_SETTINGS);
      copyLarge = await copyBench.measure(1024 * MiB, COPY_SETTINGS);
      s3Ceiling = await copyBench.s3UploadCeiling(1024 * MiB, COPY_SETTINGS);
    } finally {
      await copyBench.close();
    }

    progress(`e2e: ${E2E.generations} generations at once through reelhook dev, then the bare pipeline`);
    const e2e = await measureE2e(table, devDir);
    const postP99 = percentile(e2e.postLatenciesMs, 0.99);

    progress(`POST floor: the AWS SDK's two calls per POST alone, ${E2E.postBursts} bursts of ${E2E.postConcurrency}`);
    const postFloorMs = await measurePostFloor();
    const postFloorP99 = percentile(postFloorMs, 0.99);

    progress(`provider queue: ${QUEUE_BENCH.generations} generations at once against a cap of ${QUEUE_BENCH.cap}, configured then adaptive`);
    const queue = await measureQueue();

    const largestBundle = bundles.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const rows: Row[] = [
      {
        metric: 'status checks per generation',
        measured: polling.adaptive.checks,
        baseline: polling.seedLoop.checks,
        unit: '',
        target: { kind: 'max', limit: 0.4, on: 'ratio' },
        notes: 'baseline: the seeds’ loop (check at once, then every 15 s)',
      },
      {
        metric: 'mean detection lag',
        measured: polling.adaptive.lagSeconds,
        baseline: polling.seedLoop.lagSeconds,
        unit: 's',
        target: { kind: 'max', limit: 1, on: 'ratio' },
        notes: `learned first checks at ${polling.learnedOffsets.slice(0, 4).join(', ')} s`,
      },
      {
        metric: 'state transitions per generation',
        measured: adaptive.transitionsPerGeneration,
        baseline: fixed.transitionsPerGeneration,
        unit: '',
        target: { kind: 'max', limit: 0.5, on: 'ratio' },
        notes: 'StateEntered in the local engine; baseline: fixed 15 s plan',
      },
      {
        metric: 'USD per generation',
        measured: usdPerGeneration(usage(adaptive)),
        baseline: usdPerGeneration(usage(fixed)),
        unit: '$',
        notes: 'Step Functions + Lambda at list prices',
      },
      {
        metric: 'copy throughput, 1 GiB',
        measured: mibPerSecond(copyLarge.copy),
        baseline: mibPerSecond(copyLarge.download),
        unit: 'MiB/s',
        target: { kind: 'min', limit: 0.75, on: 'ratio' },
        notes: 'baseline: plain streamed download to a file',
      },
      {
        metric: 'copy throughput, 100 MiB',
        measured: mibPerSecond(copySmall.copy),
        baseline: mibPerSecond(copySmall.download),
        unit: 'MiB/s',
      },
      {
        metric: 'copy vs s3rver’s own upload, 1 GiB',
        measured: mibPerSecond(copyLarge.copy),
        baseline: mibPerSecond(s3Ceiling),
        unit: 'MiB/s',
        notes: 'baseline: multipart upload of in-memory bytes (the S3 stand-in’s ceiling)',
      },
      {
        metric: 'copy peak RSS, 100 MiB',
        measured: copySmall.copy.peakRssMb,
        baseline: copySmall.download.peakRssMb,
        unit: 'MB',
        target: { kind: 'max', limit: 200, on: 'measured' },
        notes: 'whole process, kernel high-water mark',
      },
      {
        metric: 'copy peak RSS, 1 GiB',
        measured: copyLarge.copy.peakRssMb,
        baseline: copyLarge.download.peakRssMb,
        unit: 'MB',
        target: { kind: 'max', limit: 200, on: 'measured' },
      },
      {
        metric: `e2e generations/s (${E2E.generations} at once)`,
        measured: e2e.reelhookRate,
        baseline: e2e.bareRate,
        unit: '/s',
        target: { kind: 'min', limit: 0.75, on: 'ratio' },
        notes:
          `reelhook dev vs bare I/O, ${e2e.statusChecksPerGeneration.toFixed(2)} status checks each; CPU/generation ` +
          `${e2e.reelhookCpuMsPerGeneration?.toFixed(0) ?? '?'} ms vs ${e2e.bareCpuMsPerGeneration.toFixed(0)} ms`,
      },
      {
        metric: `POST p99 at ${E2E.postConcurrency} concurrent, ${E2E.generations} in flight`,
        measured: postP99,
        baseline: postFloorP99,
        unit: 'ms',
        target: { kind: 'max', limit: 2, on: 'ratio' },
        notes:
          `p50 ${percentile(e2e.postLatenciesMs, 0.5).toFixed(0)} ms over ${e2e.postLatenciesMs.length} POSTs, ` +
          `sent while ${e2e.inFlightAtBursts.join(' / ')} generations were in flight; baseline: ` +
          'the same bursts of PutItem + StartExecution from the AWS SDK to an endpoint that answers at once (bench/post-floor.ts)',
      },
      {
        metric: 'reelhook dev peak RSS',
        measured: e2e.devPeakRssMb ?? Number.NaN,
        unit: 'MB',
      },
      ...queueRows(queue),
      ...bundles.map(
        (bundle): Row => ({
          metric: `bundle ${bundle.name}`,
          measured: bundle.bytes / KB,
          unit: 'KB',
          target: { kind: 'max', limit: 1024, on: 'measured' },
          notes: `cold import ${bundle.coldImportMs.toFixed(0)} ms`,
        }),
      ),
    ];

    const ratioOfMetric = (metric: string) => ratioOf(rows.find((row) => row.metric === metric)!);
    const results = {
      measured_at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), node: process.version, load_average: loadavg().map((l) => Number(l.toFixed(2))) },
      polls_ratio: ratioOfMetric('status checks per generation'),
      lag_ratio: ratioOfMetric('mean detection lag'),
      transitions_per_generation: adaptive.transitionsPerGeneration,
      transitions_ratio: ratioOfMetric('state transitions per generation'),
      usd_per_generation: usdPerGeneration(usage(adaptive)),
      copy_ratio: ratioOfMetric('copy throughput, 1 GiB'),
      copy_peak_rss_mb: { '100MiB': copySmall.copy.peakRssMb, '1GiB': copyLarge.copy.peakRssMb },
      e2e_ratio: e2e.reelhookRate / e2e.bareRate,
      post_p99_ms: postP99,
      post_sdk_floor_p99_ms: postFloorP99,
      dev_peak_rss_mb: e2e.devPeakRssMb,
      max_bundle_kb: largestBundle.bytes / KB,
      targets_met: Object.fromEntries(rows.filter((row) => row.target).map((row) => [row.metric, isMet(row)])),
      details: {
        population: describePopulation(),
        prices: describePrices(),
        polling: {
          adaptive: polling.adaptive,
          seed_loop: polling.seedLoop,
          learned_offsets: polling.learnedOffsets,
          learned_median_seconds: polling.learnedMedianSeconds,
        },
        transitions: { sample: TRANSITION_SAMPLE, adaptive, fixed },
        copy: { settings: COPY_SETTINGS, small: copySmall, large: copyLarge, s3_upload_ceiling: s3Ceiling },
        e2e: {
          config: E2E,
          reelhook_seconds: e2e.reelhookSeconds,
          bare_seconds: e2e.bareSeconds,
          reelhook_rate: e2e.reelhookRate,
          bare_rate: e2e.bareRate,
          post_p50_ms: percentile(e2e.postLatenciesMs, 0.5),
          posts_resent_after_stale_connection: e2e.postsResent,
          status_checks_per_generation: e2e.statusChecksPerGeneration,
          bare_status_gets_per_generation: e2e.bareStatusGetsPerGeneration,
          history_writes_per_generation: e2e.historyWritesPerGeneration,
          reelhook_cpu_ms_per_generation: e2e.reelhookCpuMsPerGeneration,
          bare_cpu_ms_per_generation: e2e.bareCpuMsPerGeneration,
        },
        bundles,
        queue: { config: QUEUE_BENCH, ...queue },
      },
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

    process.stdout.write(
      [
        `reelhook bench — ${results.measured_at}, ${results.machine.cpus} CPUs, Node ${process.version}, load average ${results.machine.load_average.join(' ')}`,
        `population: ${describePopulation()}`,
        `prices: ${describePrices()}`,
        '',
        renderTable(rows),
        '',
        `results: ${RESULTS_FILE} (${((performance.now() - startedAt) / 1000).toFixed(0)} s)`,
        '',
      ].join('\n'),
    );
  } finally {
    await stopAllChildren();
    await rm(workDir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAllChildren().finally(() => process.exit(130));
  });
}

await main();
