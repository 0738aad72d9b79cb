/**
 * A record's `timeline` as the steps a generation goes through, each with the time
 * since the step before it. Pure: no DOM.
 */

export interface TimelineStep {
  key: string;
  label: string;
  /** ISO time, or null while the step has not happened. */
  at: string | null;
  /** Milliseconds since the previous step that happened, when both did. */
  sincePrevious: number | null;
}

/** `completed` is set once our copy is in S3, so it is the copy step; a failed generation has `failed` there instead. */
const STEPS = [
  { key: 'accepted', label: 'Accepted' },
  { key: 'provider_accepted', label: 'Provider accepted' },
  { key: 'provider_done', label: 'Provider done' },
  { key: 'completed', label: 'Copied' },
  { key: 'notified', label: 'Notified' },
] as const;

export function timelineSteps(timeline: Record<string, string | undefined>): TimelineStep[] {
  const failed = timeline.failed !== undefined;
  let previous: number | null = null;
  return STEPS.map(({ key, label }) => {
    const stepKey = key === 'completed' && failed ? 'failed' : key;
    const at = timeline[stepKey] ?? null;
    const time = at === null ? null : Date.parse(at);
    const sincePrevious = time !== null && previous !== null ? Math.max(0, time - previous) : null;
    if (time !== null) previous = time;
    return { key: stepKey, label: stepKey === 'failed' ? 'Failed' : label, at, sincePrevious };
  });
}

/** Seconds the provider took (provider accepted → provider done), when both are known. */
export function providerSeconds(timeline: Record<string, string | undefined>): number | null {
  const { provider_accepted: accepted, provider_done: done } = timeline;
  if (accepted === undefined || done === undefined) return null;
  return Math.max(0, Date.parse(done) - Date.parse(accepted)) / 1000;
}
