/**
 * `reelhook generate`: one generation end to end, through the HTTP API like any
 * client — against REELHOOK_URL when set, else the running `reelhook dev` of the data
 * folder, else an embedded stack in this process.
 */
import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ValidationError } from '#shared/errors.js';
import { parseGenerationRequest } from '#shared/generations/request.js';
import { MODELS } from '#shared/provider/models.js';
import { Reelhook, ReelhookError, type CreateGenerationBody, type Generation } from '../client/index.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { localStackOptions } from './local-options.js';
import { Progress } from './progress.js';
import { dataDirFromEnv, findServer, type Server } from './running-dev.js';
import { UsageError, helpRequested, parseCommandLine } from './usage.js';

const DEFAULT_MODEL = 'kling-video/v1.6/standard/text-to-video';

/** Each model with the fields it takes and what the omitted ones default to, from the registry. */
function modelsHelp(): string {
  const lines = [...MODELS.values()].map((model) => {
    const defaults = Object.entries(model.defaults).map(([field, value]) => `${field} ${String(value)}`);
    const fields = Object.keys(model.params.shape).join(', ');
    const chosen = model.id === DEFAULT_MODEL ? ' (the default)' : '';
    return `        ${model.id}${chosen}\n          API fields: ${fields}; defaults: ${defaults.join(', ')}`;
  });
  return lines.join('\n');
}

export const GENERATE_HELP = `  reelhook generate "<prompt>" [--model M] [--duration 5|10] [--aspect-ratio R]
      [--negative-prompt T] [--cfg-scale X] [--callback-url U] [--out FILE [--force]] [--json]
      Run one generation end to end and save the video (default --out <id>.mp4; an existing
      file is kept unless --force). Uses REELHOOK_URL (the base URL \`reelhook dev\` prints,
      with or without /v2) and REELHOOK_API_KEY when set, else the running reelhook dev of
      the data folder, else starts the embedded stack in this process.
      Models (--model):
${modelsHelp()}
`;
const POLL_INTERVAL_MS = 500;

const OPTIONS = {
  model: { type: 'string' },
  duration: { type: 'string' },
  'aspect-ratio': { type: 'string' },
  'negative-prompt': { type: 'string' },
  'cfg-scale': { type: 'string' },
  'callback-url': { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function runGenerate(args: string[]): Promise<number> {
  if (helpRequested(args)) {
    process.stdout.write(`Usage:\n${GENERATE_HELP}`);
    return 0;
  }
  const { values, positionals } = parseCommandLine(args, OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError('generate takes exactly one prompt, in quotes');
  const body = requestBody(positionals[0] as string, values);
  // Bad flags answer at once, before a stack starts or a request is made.
  checkRequest(body);
  if (values.force === true && values.out === undefined) throw new UsageError('--force only applies to --out FILE');
  // A bad --out would otherwise only show after the whole generation has run.
  if (values.out !== undefined) await checkOutPath(values.out as string, values.force === true);

  let stack: LocalStack | null = null;
  let server: Server | null = await findServer();
  if (!server) {
    stack = await startLocalStack(localStackOptions(0));
    server = { url: stack.url, apiKey: stack.apiKey };
  }
  const accepted: { id?: string } = {};
  const where = stack ? dataDirFromEnv() : server.url;
  const stopWatching = onCtrlC(
    () => interruptedLine(accepted.id, stack !== null, where),
    async () => stack?.close(),
  );
  try {
    return await generate(new Reelhook({ baseUrl: server.url, apiKey: server.apiKey }), body, values, (id) => (accepted.id = id));
  } finally {
    stopWatching();
    await stack?.close();
  }
}

/**
 * Ctrl+C says what becomes of the generation, then stops: an embedded stack drains first
 * (its journal keeps the run for the next start); a second Ctrl+C stops at once.
 */
function onCtrlC(describe: () => string, stop: () => Promise<unknown>): () => void {
  const handler = (): void => {
    process.stderr.write(`\n${describe()}\n`);
    process.once('SIGINT', () => process.exit(130));
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/** `where` is the embedded stack's data folder, or the URL of the server that runs the generation. */
function interruptedLine(id: string | undefined, embedded: boolean, where: string): string {
  if (id === undefined) {
    return embedded
      ? `interrupted before the generation was accepted; had it been, it resumes at the next reelhook dev or generate on ${where}`
      : `interrupted before ${where} answered; if it accepted the generation, \`reelhook list\` shows it`;
  }
  return embedded
    ? `interrupted: generation ${id} is kept in ${where} and resumes at the next \`reelhook dev\` or \`reelhook generate\` on that data folder`
    : `interrupted: generation ${id} keeps running on ${where}; see it with \`reelhook get ${id}\``;
}

/** The flag each request field comes from, so a refusal names what the user typed. */
const FLAG_OF: Record<string, string> = {
  model: '--model',
  prompt: 'the prompt',
  duration: '--duration',
  aspect_ratio: '--aspect-ratio',
  negative_prompt: '--negative-prompt',
  cfg_scale: '--cfg-scale',
  callback_url: '--callback-url',
};

/** The API's own validation, run here first; callback URLs by the local policy, the most lenient (a server may refuse more). */
function checkRequest(body: Record<string, unknown>): void {
  try {
    parseGenerationRequest(body, 'local');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((issue) => `${FLAG_OF[issue.field] ?? issue.field}: ${issue.message}`);
    throw new UsageError(issues.join('; '));
  }
}

function requestBody(prompt: string, values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const body: Record<string, unknown> = { model: values.model ?? DEFAULT_MODEL, prompt };
  // Numbers go as numbers; the API names any field it rejects.
  if (values.duration !== undefined) body.duration = numeric(values.duration as string);
  if (values['aspect-ratio'] !== undefined) body.aspect_ratio = values['aspect-ratio'];
  if (values['negative-prompt'] !== undefined) body.negative_prompt = values['negative-prompt'];
  if (values['cfg-scale'] !== undefined) body.cfg_scale = numeric(values['cfg-scale'] as string);
  if (values['callback-url'] !== undefined) body.callback_url = values['callback-url'];
  return body;
}

/** Fails unless `out` can be created: its folder exists and is writable, it is not a folder, and it is new unless `force`. */
export async function checkOutPath(out: string, force = false): Promise<void> {
  if (out === '') throw new UsageError('--out needs a file path');
  const directory = dirname(resolve(out));
  const folder = await stat(directory).catch(() => null);
  if (!folder) throw new UsageError(`--out ${out}: the folder ${directory} does not exist`);
  if (!folder.isDirectory()) throw new UsageError(`--out ${out}: ${directory} is not a folder`);
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new UsageError(`--out ${out}: the folder ${directory} is not writable`);
  }
  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new UsageError(`--out ${out} is a folder; give a file path`);
  if (existing && !force) throw new UsageError(`--out ${out} exists already; add --force to overwrite it`);
}

const numeric = (raw: string): number | string => (raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);

async function generate(
  client: Reelhook,
  body: Record<string, unknown>,
  values: Record<string, string | boolean | undefined>,
  onAccepted: (id: string) => void,
): Promise<number> {
  const progress = new Progress();
  let generation: Generation;
  try {
    // checkRequest has run the API's own validation on it.
    generation = await client.create(body as unknown as CreateGenerationBody);
    onAccepted(generation.id);
    process.stderr.write(`generation ${generation.id} accepted (${generation.model})\n`);
    while (generation.status === 'queued' || generation.status === 'generating') {
      progress.update(generation);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      generation = await client.get(generation.id);
    }
    progress.done(generation);
  } catch (error) {
    progress.done();
    if (error instanceof ReelhookError) {
      process.stderr.write(`error: ${error.name}: ${error.message}\n`);
      if (values.json) process.stdout.write(`${JSON.stringify({ error: { name: error.name, message: error.message } }, null, 2)}\n`);
      return error.status >= 400 && error.status < 500 ? 2 : 1;
    }
    throw error;
  }

  if (generation.status !== 'completed' || !generation.video) {
    const failure = generation.error ?? { name: 'Unknown', message: 'the generation ended without a video' };
    process.stderr.write(`error: ${failure.name}: ${failure.message}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(generation, null, 2)}\n`);
    return 1;
  }

  const out = (values.out as string | undefined) ?? `${generation.id}.mp4`;
  const sha256 = await download(generation.video.url, out);
  if (sha256 !== generation.video.sha256) {
    process.stderr.write(`error: the downloaded file's sha256 ${sha256} does not match the recorded ${generation.video.sha256}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...generation, file: out }, null, 2)}\n`);
  } else {
    process.stdout.write(
      [
        `saved     ${out}`,
        `stored    ${generation.video.s3_uri}`,
        `size      ${generation.video.size_bytes} bytes`,
        `sha256    ${generation.video.sha256}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

/** Streams the video to `path` (via a temporary file, so a failed download leaves nothing), returning its sha256. */
async function download(url: string, path: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`downloading the video failed: HTTP ${response.status}`);
  const hash = createHash('sha256');
  const partial = `${path}.partial`;
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
      }),
      createWriteStream(partial),
    );
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return hash.digest('hex');
}
