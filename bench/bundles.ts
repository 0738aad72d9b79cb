/**
 * Lambda bundles: each functions/<name>/handler.ts built the way infra/lambda-function.ts
 * has NodejsFunction build it (esbuild, minified ESM for node22, nothing external,
 * external source map without sources), then imported in fresh Node processes with the
 * environment the CDK app gives that function, to time a cold start's module loading.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import type { LocalManifest } from '../local/template/manifest.js';
import { REPO_ROOT, startChild } from './processes.js';

/** Mirrors the `bundling` props of infra/lambda-function.ts (keep the two in step). */
const LAMBDA_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: {
    js:
      "import { createRequire as __reelhookCreateRequire } from 'node:module'; " +
      'const require = __reelhookCreateRequire(import.meta.url);',
  },
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'error',
};

/** Builds `entry` (repo-relative) into `outdir/index.mjs`, as NodejsFunction names it. */
export async function bundleLikeLambda(entry: string, outdir: string): Promise<{ file: string; bytes: number }> {
  await mkdir(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  await build({ ...LAMBDA_BUNDLE_OPTIONS, entryPoints: [join(REPO_ROOT, entry)], outfile: file, absWorkingDir: REPO_ROOT });
  return { file, bytes: (await stat(file)).size };
}

export interface BundleResult {
  name: string;
  bytes: number;
  /** Median over fresh processes of `await import(bundle)`, the handler module's own evaluation included. */
  coldImportMs: number;
}

const IMPORT_RUNS = 3;
const IMPORT_PROBE =
  'const started = performance.now(); await import(process.argv[1]); ' +
  "process.stdout.write(`imported ${performance.now() - started}\\n`); process.exit(0);";

async function coldImportMs(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i += 1) {
    const child = startChild(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE, pathToFileURL(file).href], env);
    const [, ms = 'NaN'] = await child.line(/^imported ([\d.]+)$/, 60_000);
    await child.exited;
    times.push(Number(ms));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;
}

/** Every functions/<name>/handler.ts, bundled and timed; environment from the synthesized template. */
export async function measureBundles(manifest: LocalManifest, outdir: string): Promise<BundleResult[]> {
  const names = (await readdir(join(REPO_ROOT, 'functions'), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && entry.name !== 'shared')
    .map((entry) => entry.name)
    .sort();
  const results: BundleResult[] = [];
  for (const name of names) {
    const entry = `functions/${name}/handler.ts`;
    if (!(await stat(join(REPO_ROOT, entry)).catch(() => null))) continue;
    const { file, bytes } = await bundleLikeLambda(entry, join(outdir, name));
    const deployed = manifest.functions.find((fn) => fn.entry === entry);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      ...deployed?.environment,
      // Lambda's NODE_OPTIONS (source maps) would tax only error paths; the import is measured without it.
      NODE_OPTIONS: '',
    };
    results.push({ name, bytes, coldImportMs: await coldImportMs(file, env) });
  }
  return results;
}
