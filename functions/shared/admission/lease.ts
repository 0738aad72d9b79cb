/**
 * How long a slot may be held before anyone may take it back: past the generation's
 * deadline, its status check ends it (TimedOut) and releases the slot, so a lease that
 * outlives the deadline by a margin is only the backstop for a run that vanished.
 */
import type { GenerationItem } from '#shared/records/record.js';

/** Longer than one poll interval and a status step's retries, so a live run never loses its slot. */
const LEASE_MARGIN_SECONDS = 15 * 60;

export function slotLeaseUntil(item: Pick<GenerationItem, 'deadline_at'>): number {
  return Math.floor(Date.parse(item.deadline_at) / 1000) + LEASE_MARGIN_SECONDS;
}
