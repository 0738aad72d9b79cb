/**
 * Local-mode settings from the environment (docs/local-mode.md), shared by `dev` and `generate`.
 * Every setting is checked here, before anything starts: a bad one is a usage error (exit 2).
 */
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
      concurrency: positiveInteger(env, 'REELHOOK_SIMULATOR_CONCURRENCY'),
    },
    providerConcurrency: positiveInteger(env, 'REELHOOK_PROVIDER_CONCURRENCY'),
  };
}

/**
 * Which REELHOOK_API_KEY values `dev` accepts: any `rk_` key of 16 to 255 characters from
 * [A-Za-z0-9_-], so users can pin their own in test setups and compose files. Only the
 * key's hash is stored, so its format matters to nothing else (keys made by `keys create`
 * keep their own, longer random form).
 */
function isAcceptedDevApiKey(value: string): boolean {
  return /^rk_[A-Za-z0-9_-]{13,252}$/.test(value);
}

/**
 * Which REELHOOK_WEBHOOK_SECRET values `dev` accepts: any Standard Webhooks secret,
 * `whsec_` + standard base64 (padded) of a non-empty HMAC key, as Standard Webhooks
 * libraries decode it.
 */
function isAcceptedDevWebhookSecret(value: string): boolean {
  return /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/.test(value);
}

const DEV_API_KEY_RULE =
  'REELHOOK_API_KEY must be rk_ followed by letters, digits, _ or -, 16 to 255 characters in all (for example rk_test_local_0123456789); or unset it to use the key dev keeps in its data folder';
const DEV_WEBHOOK_SECRET_RULE =
  'REELHOOK_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by the base64 of the signing key (as `reelhook keys create` prints)';

/** Malformed key settings fail before anything starts, as a usage error. Never echoes the value. */
function checkDevKeySettings(apiKey: string | undefined, webhookSecret: string | undefined): void {
  if (apiKey !== undefined && !isAcceptedDevApiKey(apiKey)) {
    throw new UsageError(DEV_API_KEY_RULE);
  }
  if (webhookSecret !== undefined && !isAcceptedDevWebhookSecret(webhookSecret)) {
    throw new UsageError(DEV_WEBHOOK_SECRET_RULE);
  }
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`${name} must be a non-negative number`);
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a whole number of at least 1`);
  return value;
}

export function parsePort(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got "${raw}")`);
  return port;
}
