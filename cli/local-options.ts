/**
 * Local-mode settings from the environment (docs/local-mode.md), shared by `dev` and `generate`.
 * Every setting is checked here, before anything starts: a bad one is a usage error (exit 2).
 */
import { isApiKeySecret, isWebhookSecret } from '#shared/auth/api-keys.js';
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
  const apiKey = env.REELHOOK_API_KEY || undefined;
  const webhookSecret = env.REELHOOK_WEBHOOK_SECRET || undefined;
  checkDevKeySettings(apiKey, webhookSecret);
  return {
    dataDir: env.REELHOOK_DATA_DIR || '.reelhook',
    port,
    apiKey,
    webhookSecret,
    providerKey: env.AIMLAPI_KEY || undefined,
    providerBaseUrl: env.AIMLAPI_BASE_URL || undefined,
    waitScale,
    simulator: {
      processingSeconds: positiveNumber(env, 'REELHOOK_SIMULATOR_SECONDS'),
      videoSizeBytes: positiveNumber(env, 'REELHOOK_SIMULATOR_VIDEO_BYTES'),
    },
  };
}

/** Which REELHOOK_API_KEY values `dev` accepts: the one rule of the dev key policy. */
function isAcceptedDevApiKey(value: string): boolean {
  return isApiKeySecret(value);
}

/** Which REELHOOK_WEBHOOK_SECRET values `dev` accepts. */
function isAcceptedDevWebhookSecret(value: string): boolean {
  return isWebhookSecret(value);
}

/** Malformed key settings fail before anything starts, as a usage error. Never echoes the value. */
function checkDevKeySettings(apiKey: string | undefined, webhookSecret: string | undefined): void {
  if (apiKey !== undefined && !isAcceptedDevApiKey(apiKey)) {
    throw new UsageError('REELHOOK_API_KEY must look like rk_<32 base64url characters>, as `reelhook keys create` prints (or unset it to use the key dev keeps in its data folder)');
  }
  if (webhookSecret !== undefined && !isAcceptedDevWebhookSecret(webhookSecret)) {
    throw new UsageError('REELHOOK_WEBHOOK_SECRET must look like whsec_<base64>');
  }
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
