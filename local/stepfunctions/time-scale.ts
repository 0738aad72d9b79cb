/**
 * `REELHOOK_WAIT_SCALE` applied to a state machine: Retry delays and fixed `Seconds`
 * waits run `scale` times as long as defined (0 = no delay at all).
 *
 * Retry delays are scaled in the definition itself (IntervalSeconds and MaxDelaySeconds
 * times `scale`), so the interpreter keeps doing the per-attempt arithmetic — interval ×
 * BackoffRate^attempt, capped by MaxDelaySeconds, then full jitter when asked — for every
 * retrier, whether on a Task, a Parallel or a Map, and whatever raised the error
 * (including States.Timeout). Since scale × min(i·b^n, max) = min(scale·i·b^n, scale·max),
 * the result is exactly the scaled AWS delay.
 *
 * Waits go through the interpreter's `waitTimeOverrides` (milliseconds per state name).
 */
import { type AslDefinition, forEachState } from './definition.js';

/** AWS's retrier defaults (States Language spec). */
const DEFAULT_INTERVAL_SECONDS = 1;

export function assertValidScale(scale: number): void {
  if (!Number.isFinite(scale) || scale < 0) throw new Error(`Wait scale must be a finite number ≥ 0, got ${scale}`);
}

/** A copy of the definition whose Retry delays are `scale` times the defined ones. */
export function scaleRetryDelays(definition: AslDefinition, scale: number): AslDefinition {
  assertValidScale(scale);
  const scaled = structuredClone(definition);
  if (scale === 1) return scaled;
  forEachState(scaled, (_name, state) => {
    for (const retrier of state.Retry ?? []) {
      retrier.IntervalSeconds = (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * scale;
      // A cap of 0 reads as "no cap" in the interpreter; with scale 0 every delay is 0 anyway.
      if (retrier.MaxDelaySeconds !== undefined) retrier.MaxDelaySeconds *= scale;
    }
  });
  return scaled;
}

/**
 * Milliseconds to wait in each Wait state, for the interpreter's `waitTimeOverrides`.
 * Fixed `Seconds` waits are scaled; waits read from the input (SecondsPath, TimestampPath)
 * or at a fixed Timestamp are left alone, because the step that computes them already
 * applies the scale — except with scale 0, where every wait is skipped.
 */
export function waitTimeOverrides(definition: AslDefinition, scale: number): Record<string, number> {
  assertValidScale(scale);
  const overrides: Record<string, number> = {};
  forEachState(definition, (name, state) => {
    if (state.Type !== 'Wait') return;
    if (scale === 0) overrides[name] = 0;
    else if (typeof state.Seconds === 'number' && scale !== 1) overrides[name] = state.Seconds * 1000 * scale;
  });
  return overrides;
}

