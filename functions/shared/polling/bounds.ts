/**
 * Polling configuration and the clock of the Wait states.
 *
 * The check times themselves are learned per model (schedule.ts); these bounds
 * limit them: the first wait when it is configured, and the shortest and longest wait
 * between two checks.
 */
import { DEFAULT_POLL_MAX_INTERVAL_SECONDS, DEFAULT_POLL_MIN_INTERVAL_SECONDS, Env } from '#shared/facts.js';

/** A model missing from the registry is assumed to take as long as the seeds' kling v1.6 (~3 min). */
export const DEFAULT_TYPICAL_SECONDS = 186;

export interface PollingBounds {
  /** Wait before the first status check; null lets the schedule choose it (it is at least the minimum interval). */
  firstCheckSeconds: number | null;
  /** Shortest wait after a check. */
  minIntervalSeconds: number;
  /** Longest wait between two checks (the first wait is the schedule's or the configured one). */
  maxIntervalSeconds: number;
}

export const DEFAULT_POLLING_BOUNDS: PollingBounds = {
  firstCheckSeconds: null,
  minIntervalSeconds: DEFAULT_POLL_MIN_INTERVAL_SECONDS,
  maxIntervalSeconds: DEFAULT_POLL_MAX_INTERVAL_SECONDS,
};

export function pollingBoundsFromEnv(env: NodeJS.ProcessEnv = process.env): PollingBounds {
  const read = (key: string): number | null => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return null;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${key} must be a non-negative number of seconds`);
    return value;
  };
  const bounds: PollingBounds = {
    firstCheckSeconds: read(Env.PollFirstSeconds),
    minIntervalSeconds: read(Env.PollMinSeconds) ?? DEFAULT_POLLING_BOUNDS.minIntervalSeconds,
    maxIntervalSeconds: read(Env.PollMaxSeconds) ?? DEFAULT_POLLING_BOUNDS.maxIntervalSeconds,
  };
  if (bounds.maxIntervalSeconds < bounds.minIntervalSeconds) {
    throw new Error('REELHOOK_POLL_MAX_SECONDS must be at least REELHOOK_POLL_MIN_SECONDS');
  }
  return bounds;
}

/**
 * The instant for a Wait state's TimestampPath. `scale` is REELHOOK_WAIT_SCALE (local
 * mode only; absent in AWS, so 1). At scale 1 the timestamp is rounded up to whole
 * seconds, the plainest RFC 3339 form Step Functions accepts.
 */
export function waitUntil(seconds: number, scale: number, now: number = Date.now()): string {
  const at = now + seconds * scale * 1000;
  if (scale === 1) return new Date(Math.ceil(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return new Date(at).toISOString();
}

export function waitScaleFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[Env.WaitScale];
  if (raw === undefined || raw.trim() === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error('REELHOOK_WAIT_SCALE must be a non-negative number');
  return value;
}

/**
 * Real seconds as the schedule counts them: locally REELHOOK_WAIT_SCALE shrinks every
 * wait, so the schedule's clock runs 1/scale times as fast (at scale 0 waits are
 * skipped and the real figure is kept).
 */
export function toScheduleSeconds(realSeconds: number, scale: number): number {
  return scale > 0 ? realSeconds / scale : realSeconds;
}

/** The inverse of {@link toScheduleSeconds}: schedule seconds as real ones. */
export function fromScheduleSeconds(scheduleSeconds: number, scale: number): number {
  return scale > 0 ? scheduleSeconds * scale : scheduleSeconds;
}
