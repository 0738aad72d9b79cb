/** Local-mode settings from the environment (docs/local-mode.md), shared by `dev` and `generate`. */
import { waitScaleFromEnv } from '#shared/polling/bounds.js';
import type { LocalStackOptions } from '../local/stack.js';
import { UsageError } from './usage.js';

export function localStackOptions(port: number, env: NodeJS.ProcessEnv = process.env): LocalStackOptions {
  let waitScale: number;
  try {
    waitScale = waitScaleFromEnv(env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    dataDir: env.REELHOOK_DATA_DIR || '.reelhook',
    port,
    apiKey: env.REELHOOK_API_KEY || undefined,
    webhookSecret: env.REELHOOK_WEBHOOK_SECRET || undefined,
    providerKey: env.AIMLAPI_KEY || undefined,
    providerBaseUrl: env.AIMLAPI_BASE_URL || undefined,
    waitScale,
    simulator: {
      processingSeconds: positiveNumber(env, 'REELHOOK_SIMULATOR_SECONDS'),
      videoSizeBytes: positiveNumber(env, 'REELHOOK_SIMULATOR_VIDEO_BYTES'),
    },
  };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`${name} must be a non-negative number`);
  return value;
}

export function parsePort(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got "${raw}")`);
  return port;
}
