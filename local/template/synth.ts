/**
 * The CDK app's template, synthesized in-process (bundling skipped). Synthesis loads
 * aws-cdk-lib and takes seconds, so the raw template is cached on disk, keyed by the
 * sources that shape it; reading it for local names (manifest.ts) is cheap and runs
 * every time.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ReelhookStack } from '../../infra/reelhook-stack.js';

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const CACHE_FORMAT = 1;

/**
 * The stack as `cdk synth` builds it (cdk.json's context), minus bundling and the
 * built-in CloudFormation validation, which `cdk synth` still runs.
 *
 * @example
 * const template = Template.fromStack(await createReelhookStack());
 */
export async function createReelhookStack(): Promise<ReelhookStack> {
  return (await buildApp()).stack;
}

async function buildApp(outdir?: string) {
  const [{ App }, { REELHOOK_STACK_ID, ReelhookStack }, cdkJson] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../infra/reelhook-stack.js'),
    readFile(join(REPO_ROOT, 'cdk.json'), 'utf8'),
  ]);
  const { context } = z.object({ context: z.record(z.string(), z.unknown()).default({}) }).parse(JSON.parse(cdkJson));
  const app = new App({
    builtinCloudFormationValidation: false,
    treeMetadata: false,
    outdir,
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
  return { app, stack: new ReelhookStack(app, REELHOOK_STACK_ID) };
}

async function synthesizeTemplate(): Promise<CfnTemplate> {
  const outdir = await mkdtemp(join(tmpdir(), 'reelhook-synth-'));
  try {
    const { app, stack } = await buildApp(outdir);
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The synthesized template, from the cache when the sources that shape it are unchanged. */
export async function loadTemplate(): Promise<CfnTemplate> {
  // In the shared OS temp dir, one folder per checkout, so checkouts keep their own entry.
  const cacheDir = process.env.REELHOOK_DATA_DIR
    ? join(process.env.REELHOOK_DATA_DIR, 'cache')
    : join(tmpdir(), `reelhook-cache-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`);
  const file = join(cacheDir, `template-${await sourcesHash()}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CfnTemplate;
  } catch (error) {
    // Missing, or damaged by hand: synthesize afresh.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  const template = await synthesizeTemplate();
  await mkdir(cacheDir, { recursive: true });
  // Rename is atomic: a concurrent reader sees the whole file or none.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify(template));
  await rename(partial, file);
  // Templates of earlier sources are never read again.
  for (const name of await readdir(cacheDir)) {
    if (/^template-\w+\.json$/.test(name) && join(cacheDir, name) !== file) {
      await rm(join(cacheDir, name), { force: true });
    }
  }
  return template;
}

/** Hash of everything the template depends on: infra, the function sources, cdk.json, this file, aws-cdk-lib. */
async function sourcesHash(): Promise<string> {
  const tsUnder = async (dir: string, recursive: boolean) =>
    (await readdir(join(REPO_ROOT, dir), { recursive })).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
  const files = [
    ...(await tsUnder('infra', false)),
    ...(await tsUnder('functions', true)),
    'cdk.json',
    relative(REPO_ROOT, THIS_FILE),
    'node_modules/aws-cdk-lib/package.json',
  ].sort();
  const hash = createHash('sha256').update(`format ${CACHE_FORMAT}\n`);
  for (const file of files) {
    hash.update(`${file.split('\\').join('/')}\0`);
    hash.update(await readFile(join(REPO_ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}
