/**
 * When to ask the provider again.
 *
 * A generation takes minutes (the seeds report ~186 s for kling v1.6 standard), so
 * polling every 15 s from the start mostly asks "not yet". The first check comes near
 * the model's typical duration; after that, short intervals that grow with the time
 * already spent, so a long tail costs few polls and a typical one is noticed quickly.
 */

export interface PollingBounds {
  /** Wait before the first status check; null derives it from the model's typical duration. */
  firstCheckSeconds: number | null;
  minIntervalSeconds: number;
  maxIntervalSeconds: number;
}

export const DEFAULT_POLLING_BOUNDS: PollingBounds = {
  firstCheckSeconds: null,
  minIntervalSeconds: 5,
  maxIntervalSeconds: 60,
};

/** Share of the typical duration waited before the first check. */
const FIRST_CHECK_SHARE = 0.6;
/** After the first check, wait this share of the time elapsed so far. */
const TAIL_SHARE = 0.06;

export interface PollingState {
  typicalSeconds: number;
  /** Seconds since the provider accepted the job. */
  elapsedSeconds: number;
  /** Status checks made so far. */
  polls: number;
  /** Seconds left before the generation's deadline. */
  remainingSeconds: number;
}

export function nextWaitSeconds(state: PollingState, bounds: PollingBounds = DEFAULT_POLLING_BOUNDS): number {
  const clamp = (value: number): number =>
    Math.min(bounds.maxIntervalSeconds, Math.max(bounds.minIntervalSeconds, value));
  const planned =
    state.polls === 0
      ? (bounds.firstCheckSeconds ?? clamp(state.typicalSeconds * FIRST_CHECK_SHARE))
      : clamp(state.elapsedSeconds * TAIL_SHARE);
  // Never sleep past the deadline: the check right after it reports TimedOut.
  const capped = Math.min(planned, Math.max(0, Math.ceil(state.remainingSeconds)));
  return Math.max(0, Math.round(capped));
}

export function pollingBoundsFromEnv(env: NodeJS.ProcessEnv = process.env): PollingBounds {
  const read = (key: string): number | null => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return null;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${key} must be a non-negative number of seconds`);
    return value;
  };
  return {
    firstCheckSeconds: read('REELHOOK_POLL_FIRST_SECONDS'),
    minIntervalSeconds: read('REELHOOK_POLL_MIN_SECONDS') ?? DEFAULT_POLLING_BOUNDS.minIntervalSeconds,
    maxIntervalSeconds: read('REELHOOK_POLL_MAX_SECONDS') ?? DEFAULT_POLLING_BOUNDS.maxIntervalSeconds,
  };
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
  const raw = env.REELHOOK_WAIT_SCALE;
  if (raw === undefined || raw.trim() === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error('REELHOOK_WAIT_SCALE must be a non-negative number');
  return value;
}
