/**
 * An in-flight generation's progress on its card: a bar filled by the record's
 * estimate, elapsed time, ETA, status checks and the provider's status (docs/api.md,
 * "The estimate"). Drawn anew from each polled record, so the figures are the API's.
 */
import type { Generation } from './api.js';
import { el } from './dom.js';
import { formatDuration } from './format.js';

/** The bar, and the line under it saying where the generation is. */
export function progressOf(record: Generation, now: number = Date.now()): HTMLElement {
  const { fraction, words } = stageOf(record);
  const bar = el('progress', { class: 'progress-bar', max: 100, 'aria-label': `Progress of ${record.id}` });
  // No value leaves the bar indeterminate: nothing is known of how far it is.
  if (fraction !== null) bar.value = Math.round(fraction * 100);
  const parts = [...words, `${formatDuration(Math.max(0, now - Date.parse(record.created_at)))} elapsed`];
  const { estimate } = record;
  if (estimate) {
    const { p50, p90 } = estimate.remaining_seconds;
    parts.push(`ETA ${formatDuration(p50 * 1000)} (p90 ${formatDuration(p90 * 1000)}, ${estimate.basis === 'learned' ? `from ${estimate.samples} runs` : 'typical duration'})`);
  } else if (fraction === null && record.status === 'generating') {
    parts.push('ETA unknown');
  }
  if (record.provider.polls) parts.push(`${record.provider.polls} status check${record.provider.polls === 1 ? '' : 's'}`);
  return el('div', { class: 'pending progress', 'data-progress': fraction === null ? 'unknown' : String(bar.value) }, bar, el('p', { class: 'progress-text' }, parts.join(' · ')));
}

/** How full the bar is (null: unknown) and what the generation is doing. */
function stageOf(record: Generation): { fraction: number | null; words: string[] } {
  const { timeline, estimate } = record;
  if (record.status === 'queued') return { fraction: 0, words: [record.queue ? 'Waiting for provider capacity' : 'Waiting for the provider'] };
  if (timeline.provider_done) return { fraction: 1, words: ['Copying the video'] };
  const words = ['Generating', `provider ${record.provider.status ?? 'accepted'}`];
  const acceptedAt = timeline.provider_accepted;
  if (!estimate || !acceptedAt) return { fraction: null, words };
  // Both ends in the server's clock: the share of the expected provider time already spent.
  const total = Date.parse(estimate.completes_at) - Date.parse(acceptedAt);
  const spent = total - estimate.remaining_seconds.p50 * 1000;
  return { fraction: total > 0 ? Math.min(1, Math.max(0, spent / total)) : 1, words };
}
