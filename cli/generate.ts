/**
 * `reelhook generate`: one generation end to end, through the HTTP API like any
 * client — against REELHOOK_URL when set, else against an embedded stack.
 */
import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { PublicGeneration } from '#shared/records/record.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { ApiCallError, ReelhookClient } from './api-client.js';
import { localStackOptions } from './local-options.js';
import { Progress } from './progress.js';
import { UsageError, helpRequested, parseCommandLine } from './usage.js';

export const GENERATE_HELP = `  reelhook generate "<prompt>" [--model M] [--duration 5|10] [--aspect-ratio R]
      [--negative-prompt T] [--cfg-scale X] [--callback-url U] [--out FILE] [--json]
      Run one generation end to end and save the video. Uses REELHOOK_URL (the base URL
      \`reelhook dev\` prints, with or without /v2) and REELHOOK_API_KEY when set, else
      starts the embedded stack in this process.
`;

const DEFAULT_MODEL = 'kling-video/v1.6/standard/text-to-video';
const POLL_INTERVAL_MS = 500;

const OPTIONS = {
  model: { type: 'string' },
  duration: { type: 'string' },
  'aspect-ratio': { type: 'string' },
  'negative-prompt': { type: 'string' },
  'cfg-scale': { type: 'string' },
  'callback-url': { type: 'string' },
  out: { type: 'string' },
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
  // A bad --out would otherwise only show after the whole generation has run.
  if (values.out !== undefined) await checkOutPath(values.out as string);

  let stack: LocalStack | null = null;
  let client: ReelhookClient;
  const remote = process.env.REELHOOK_URL;
  if (remote) {
    const apiKey = process.env.REELHOOK_API_KEY;
    if (!apiKey) throw new UsageError('REELHOOK_URL is set: set REELHOOK_API_KEY to the key that server accepts');
    client = new ReelhookClient(remote, apiKey);
  } else {
    stack = await startLocalStack(localStackOptions(0));
    client = new ReelhookClient(stack.url, stack.apiKey);
  }
  try {
    return await generate(client, body, values);
  } finally {
    await stack?.close();
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

/** Fails unless `out` can be created: its folder exists and is writable, and it is not itself a folder. */
export async function checkOutPath(out: string): Promise<void> {
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
  if ((await stat(out).catch(() => null))?.isDirectory()) throw new UsageError(`--out ${out} is a folder; give a file path`);
}

const numeric = (raw: string): number | string => (raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);

async function generate(
  client: ReelhookClient,
  body: Record<string, unknown>,
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const progress = new Progress();
  let generation: PublicGeneration;
  try {
    generation = await client.createGeneration(body);
    process.stderr.write(`generation ${generation.id} accepted (${generation.model})\n`);
    while (generation.status === 'queued' || generation.status === 'generating') {
      progress.update(generation);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      generation = await client.getGeneration(generation.id);
    }
    progress.done(generation);
  } catch (error) {
    progress.done();
    if (error instanceof ApiCallError) {
      process.stderr.write(`error: ${error.errorName}: ${error.message}\n`);
      if (values.json) process.stdout.write(`${JSON.stringify({ error: { name: error.errorName, message: error.message } }, null, 2)}\n`);
      return error.statusCode >= 400 && error.statusCode < 500 ? 2 : 1;
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
