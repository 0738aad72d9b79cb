/**
 * One generation on the page, updated in place on every poll. The video element and
 * the cancel button are made once and kept, so playback and keyboard focus survive
 * the updates.
 */
import { ApiFailure, type Generation } from './api.js';
import { el } from './dom.js';
import { formatBytes, formatDuration, formatTime } from './format.js';
import { timelineSteps } from './timeline.js';

const IN_FLIGHT = new Set(['queued', 'generating']);

export class GenerationCard {
  readonly element: HTMLElement;
  private record: Generation;
  private fingerprint = '';
  private readonly summary = el('div', { class: 'card-summary' });
  private readonly cancelButton = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel');
  private readonly cancelMessage = el('p', { class: 'card-message', role: 'status' });
  private readonly media = el('div', { class: 'card-media' });
  private readonly timeline = el('ol', { class: 'timeline', 'aria-label': 'Timeline' });
  private readonly details = el('div', { class: 'card-details' });
  private video: HTMLVideoElement | null = null;

  constructor(record: Generation, cancel: (id: string) => Promise<void>) {
    this.record = record;
    this.element = el(
      'article',
      { class: 'generation', 'data-id': record.id, 'aria-labelledby': `${record.id}-prompt` },
      el('div', { class: 'card-head' }, this.summary, this.cancelButton),
      this.cancelMessage,
      el('div', { class: 'card-body' }, this.media, el('div', { class: 'card-info' }, this.timeline, this.details)),
    );
    this.cancelButton.addEventListener('click', () => {
      this.cancelButton.disabled = true;
      this.cancelMessage.textContent = 'Cancelling…';
      cancel(this.record.id)
        .then(() => {
          this.cancelMessage.textContent = '';
        })
        .catch((error: unknown) => {
          this.cancelMessage.textContent = `Could not cancel: ${errorText(error)}`;
        })
        .finally(() => {
          this.cancelButton.disabled = false;
        });
    });
    this.update(record);
  }

  get status(): string {
    return this.record.status;
  }

  update(record: Generation): void {
    this.record = record;
    // The video URL is signed anew on every read: it alone is no change.
    const fingerprint = JSON.stringify({ ...record, video: record.video ? { ...record.video, url: null } : null });
    if (fingerprint === this.fingerprint) {
      if (record.video) this.details.querySelector('a.video-link')?.setAttribute('href', record.video.url);
      return;
    }
    this.fingerprint = fingerprint;

    this.element.dataset.status = record.status;
    this.summary.replaceChildren(...summaryOf(record));
    this.cancelButton.hidden = !IN_FLIGHT.has(record.status);
    this.cancelButton.setAttribute('aria-label', `Cancel generation ${record.id}`);
    this.renderMedia(record);
    this.timeline.replaceChildren(...timelineItems(record));
    this.details.replaceChildren(...detailsOf(record));
  }

  private renderMedia(record: Generation): void {
    if (record.status === 'completed' && record.video) {
      this.video ??= this.createVideo(record.video.url);
      this.media.replaceChildren(this.video);
    } else if (record.status === 'error' && record.error) {
      this.media.replaceChildren(
        el('p', { class: 'generation-error' }, el('strong', {}, record.error.name), `: ${record.error.message}`),
      );
    } else {
      this.media.replaceChildren(el('p', { class: 'pending' }, record.status === 'queued' ? 'Waiting for the provider…' : 'Generating…'));
    }
  }

  private createVideo(url: string): HTMLVideoElement {
    const video = el('video', { controls: true, preload: 'auto', playsinline: true, src: url, 'aria-label': `Video of ${this.record.id}` });
    // The URL in hand may have expired (the page was left open): retry once with the newest one.
    let retried = false;
    video.addEventListener('error', () => {
      const latest = this.record.video?.url;
      if (retried || !latest || latest === video.src) return;
      retried = true;
      video.src = latest;
    });
    video.addEventListener('loadeddata', () => {
      retried = false;
    });
    return video;
  }
}

function summaryOf(record: Generation): Node[] {
  const params = Object.entries(record.params)
    .map(([name, value]) => `${name} ${typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean)}`)
    .join(' · ');
  return [
    el(
      'p',
      { class: 'card-line' },
      el('span', { class: `badge badge-${record.status}` }, record.status),
      el('code', { class: 'model' }, record.model),
      el('time', { datetime: record.created_at }, formatTime(record.created_at)),
    ),
    el('h3', { class: 'prompt', id: `${record.id}-prompt` }, record.prompt),
    ...(params ? [el('p', { class: 'params' }, params)] : []),
  ];
}

function timelineItems(record: Generation): HTMLElement[] {
  return timelineSteps(record.timeline).map((step) =>
    el(
      'li',
      { class: step.at ? `step step-${step.key} done` : `step step-${step.key}`, 'data-step': step.key },
      el('span', { class: 'step-label' }, step.label),
      step.at ? el('time', { datetime: step.at }, formatTime(step.at)) : el('span', { class: 'step-time' }, '—'),
      step.sincePrevious !== null ? el('span', { class: 'step-delta' }, `+${formatDuration(step.sincePrevious)}`) : null,
    ),
  );
}

function detailsOf(record: Generation): HTMLElement[] {
  const { callback, video } = record;
  const webhook = callback.url
    ? el(
        'p',
        { class: 'webhook' },
        'Webhook ',
        el('span', { class: `badge badge-callback-${callback.state}` }, callback.state),
        ` · ${callback.attempts} attempt${callback.attempts === 1 ? '' : 's'}`,
        callback.last_status_code === null ? '' : ` · last status ${callback.last_status_code}`,
        ' · ',
        el('code', { class: 'url' }, callback.url),
      )
    : el('p', { class: 'webhook' }, 'No webhook.');
  return [
    webhook,
    el(
      'p',
      { class: 'ids' },
      el('code', {}, record.id),
      video ? ' · ' : null,
      video ? el('a', { class: 'video-link', href: video.url }, `MP4, ${formatBytes(video.size_bytes)}`) : null,
      video ? ' · sha256 ' : null,
      video ? el('code', { title: video.sha256 }, `${video.sha256.slice(0, 12)}…`) : null,
    ),
  ];
}

function errorText(error: unknown): string {
  return error instanceof ApiFailure ? `${error.errorName}: ${error.message}` : String(error);
}
