/**
 * Which reelhook server a command talks to. A running `reelhook dev` holds its data
 * folder (LevelDB locks the DynamoDB files), and says so in the folder's
 * `running-stack.json`: where it listens and the API key it accepts. Commands use
 * REELHOOK_URL when it is set, else that process while it is alive.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ENDPOINTS_FILE } from '../local/stack.js';
import { UsageError } from './usage.js';

interface RunningDev {
  pid: number;
  url: string;
  /** Absent in files written before dev recorded it. */
  apiKey?: string;
  dynamoDbEndpoint: string;
  tableName: string;
}

export function dataDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.REELHOOK_DATA_DIR || '.reelhook');
}

/** The `reelhook dev` serving this data folder, if its process is alive. */
export async function runningDev(dataDir: string): Promise<RunningDev | null> {
  let parsed: Partial<RunningDev>;
  try {
    parsed = JSON.parse(await readFile(join(dataDir, ENDPOINTS_FILE), 'utf8')) as Partial<RunningDev>;
  } catch {
    return null;
  }
  const { pid, url, apiKey, dynamoDbEndpoint, tableName } = parsed;
  if (typeof pid !== 'number' || typeof url !== 'string' || typeof dynamoDbEndpoint !== 'string' || typeof tableName !== 'string') return null;
  if (!isAlive(pid)) return null;
  return { pid, url, dynamoDbEndpoint, tableName, ...(typeof apiKey === 'string' ? { apiKey } : {}) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Server {
  url: string;
  apiKey: string;
}

/** REELHOOK_URL (with REELHOOK_API_KEY), else the data folder's running dev, else null. */
export async function findServer(env: NodeJS.ProcessEnv = process.env): Promise<Server | null> {
  if (env.REELHOOK_URL) {
    if (!env.REELHOOK_API_KEY) throw new UsageError('REELHOOK_URL is set: set REELHOOK_API_KEY to the key that server accepts');
    return { url: env.REELHOOK_URL, apiKey: env.REELHOOK_API_KEY };
  }
  const dev = await runningDev(dataDirFromEnv(env));
  if (!dev) return null;
  // Any active key works against dev; one the user pinned wins, so its generations stay theirs.
  const apiKey = env.REELHOOK_API_KEY || dev.apiKey;
  if (!apiKey) {
    throw new UsageError(`the reelhook dev at ${dev.url} did not record its API key: set REELHOOK_API_KEY to the key it printed`);
  }
  return { url: dev.url, apiKey };
}

/** For commands that need a server and never start one themselves. */
export async function requireServer(env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const server = await findServer(env);
  if (server) return server;
  throw new Error(
    `no reelhook server is running for the data folder ${dataDirFromEnv(env)}: start one with \`npx reelhook dev\` in another terminal ` +
      '(with the same REELHOOK_DATA_DIR), or set REELHOOK_URL and REELHOOK_API_KEY to a running server',
  );
}
