/**
 * `reelhook list | get | cancel | redeliver`: the generation records of the HTTP API, read
 * and acted on through REELHOOK_URL or the running `reelhook dev` of the data folder
 * (running-dev.ts). They never start a stack: without a server they say how to start one.
 */
import { Reelhook, ReelhookError, type Generation, type GenerationStatus } from '../client/index.js';
import { requireServer } from './running-dev.js';
import { UsageError, helpRequested, parseCommandLine } from './usage.js';

export const GENERATIONS_HELP = `  reelhook list [--status S] [--limit N] [--json]
      Your generations, newest first (status: queued, generating, completed or error;
      limit 1 to 100, default 20).
  reelhook get ID [--json]
      One generation: status, video, error and webhook delivery.
  reelhook cancel ID
      Cancel a generation that has not finished: it ends as error Cancelled.
  reelhook redeliver ID
      Send its webhook again now (or, while a delivery is pending, make the next attempt now).
      These talk to REELHOOK_URL (with REELHOOK_API_KEY), else to the running reelhook dev of
      the data folder (REELHOOK_DATA_DIR, default .reelhook/).
`;

const STATUSES = ['queued', 'generating', 'completed', 'error'] as const satisfies readonly GenerationStatus[];

const isStatus = (value: string): value is GenerationStatus => (STATUSES as readonly string[]).includes(value);

type Command = 'list' | 'get' | 'cancel' | 'redeliver';

export async function runGenerationCommand(command: Command, args: string[]): Promise<number> {
  if (helpRequested(args)) {
    process.stdout.write(`Usage:\n${GENERATIONS_HELP}`);
    return 0;
  }
  // Every flag is checked before any server is looked for.
  const action = parse(command, args);
  const server = await requireServer();
  const client = new Reelhook({ baseUrl: server.url, apiKey: server.apiKey });
  try {
    return await action(client);
  } catch (error) {
    if (!(error instanceof ReelhookError)) throw error;
    process.stderr.write(`error: ${error.name}: ${error.message}\n`);
    return 1;
  }
}

type Action = (client: Reelhook) => Promise<number>;

function parse(command: Command, args: string[]): Action {
  switch (command) {
    case 'list': {
      const { values, positionals } = parseCommandLine(args, { status: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, true);
      if (positionals.length > 0) throw new UsageError(`list takes no arguments (got "${positionals[0]}")`);
      const status = values.status as string | undefined;
      if (status !== undefined && !isStatus(status)) {
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')} (got "${status}")`);
      }
      const limit = parseLimit(values.limit as string | undefined);
      return async (client) => {
        const page = await client.list({ status, limit });
        if (values.json) write(JSON.stringify(page, null, 2));
        else write(listTable(page.data, page.next_cursor !== null));
        return 0;
      };
    }
    case 'get': {
      const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } }, true);
      const id = onlyId(command, positionals);
      return async (client) => {
        const generation = await client.get(id);
        write(values.json ? JSON.stringify(generation, null, 2) : describe(generation));
        return 0;
      };
    }
    case 'cancel': {
      const id = onlyId(command, parseCommandLine(args, {}, true).positionals);
      return async (client) => {
        const generation = await client.cancel(id);
        write(`Cancelled ${generation.id}: it ends as error Cancelled (status now: ${generation.status}).`);
        return 0;
      };
    }
    case 'redeliver': {
      const id = onlyId(command, parseCommandLine(args, {}, true).positionals);
      return async (client) => {
        const generation = await client.redeliver(id);
        write(`Webhook of ${generation.id} to ${generation.callback.url ?? '(none)'} is being delivered (attempts so far: ${generation.callback.attempts}).`);
        return 0;
      };
    }
  }
}

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new UsageError(`--limit must be a whole number from 1 to 100 (got "${raw}")`);
  }
  return limit;
}

function onlyId(command: Command, positionals: string[]): string {
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError(`usage: reelhook ${command} ID`);
  return positionals[0]!;
}

function write(text: string): void {
  process.stdout.write(`${text}\n`);
}

const PROMPT_COLUMN = 40;

function listTable(generations: Generation[], more: boolean): string {
  if (generations.length === 0) return 'No generations yet: reelhook generate "<prompt>"';
  const rows = [
    ['ID', 'STATUS', 'MODEL', 'CREATED', 'PROMPT'],
    ...generations.map((generation) => [
      generation.id,
      generation.error ? `error (${generation.error.name})` : generation.status,
      generation.model,
      generation.created_at,
      oneLine(generation.prompt, PROMPT_COLUMN),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  if (more) lines.push(`(more exist: raise --limit, up to 100)`);
  return lines.join('\n');
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function describe(generation: Generation): string {
  const lines = [
    `id          ${generation.id}`,
    `status      ${generation.status}${generation.provider.status ? ` (provider: ${generation.provider.status})` : ''}`,
    `model       ${generation.model}`,
    `prompt      ${oneLine(generation.prompt, 200)}`,
    `created     ${generation.created_at}`,
    `completed   ${generation.completed_at ?? '-'}`,
  ];
  if (generation.queue) lines.push(`queued      ${generation.queue.reason} since ${generation.queue.since}`);
  if (generation.video) {
    lines.push(
      `stored      ${generation.video.s3_uri}`,
      `size        ${generation.video.size_bytes} bytes`,
      `sha256      ${generation.video.sha256}`,
      `download    ${generation.video.url}`,
    );
  }
  if (generation.error) lines.push(`error       ${generation.error.name}: ${generation.error.message}`);
  const { callback } = generation;
  if (callback.url) {
    const status = callback.last_status_code === null ? '' : `, last status ${callback.last_status_code}`;
    lines.push(`webhook     ${callback.state} to ${callback.url} (${callback.attempts} attempt(s)${status})`);
  }
  return lines.join('\n');
}
