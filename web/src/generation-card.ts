/**
 * One generation on the page, updated in place on every poll. The video element and
 * the cancel and redeliver buttons are made once and kept, so playback and keyboard
 * focus survive the updates.
 */
import { ApiFailure, type Generation, type GenerationHistory } from './api.js';
import { el } from './dom.js';
import { formatBytes, formatDuration, formatTime } from './format.js';
import { progressOf } from './progress.js';
import { StepsView } from './steps.js';
import { timelineSteps } from './timeline.js';

const IN_FLIGHT = new Set(['queued', 'generating']);

export interface CardActions {
  cancel(id: string): Promise<void>;
  /** Retry now while the webhook is pending; deliver it again once settled. */
  redeliver(id: string): Promise<void>;
  history(id: string): Promise<GenerationHistory>;
}

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
  private readonly redeliverButton = el('button', { type: 'button', class: 'secondary redeliver', hidden: true }, 'Retry now');
  private readonly redeliverMessage = el('p', { class: 'card-message', role: 'status' });
  private readonly webhook = el('div', { class: 'card-webhook' });
  private readonly steps: StepsView;
  private video: HTMLVideoElement | null = null;

  constructor(record: Generation, actions: CardActions) {
    this.record = record;
    this.steps = new StepsView(record.id, (id) => actions.history(id));
    this.element = el(
      'article',
      { class: 'generation', 'data-id': record.id, 'aria-labelledby': `${record.id}-prompt` },
      el('div', { class: 'card-head' }, this.summary, this.cancelButton),
      this.cancelMessage,
      el(
        'div',
        { class: 'card-body' },
        this.media,
        el('div', { class: 'card-info' }, this.timeline, this.webhook, this.redeliverButton, this.redeliverMessage, this.details, this.steps.element),
      ),
    );
    this.redeliverButton.addEventListener('click', () => {
      this.redeliverButton.disabled = true;
      this.redeliverMessage.textContent = '';
      actions
        .redeliver(this.record.id)
        .catch((error: unknown) => {
          this.redeliverMessage.textContent = `Could not redeliver: ${errorText(error)}`;
        })
        .finally(() => {
          this.redeliverButton.disabled = false;
        });
    });
    this.cancelButton.addEventListener('click', () => {
      this.cancelButton.disabled = true;
      this.cancelMessage.textContent = 'Cancelling…';
      actions
        .cancel(this.record.id)
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
    this.steps.poll(IN_FLIGHT.has(record.status));
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
    this.webhook.replaceChildren(...webhookOf(record));
    const redeliver = redeliverLabel(record);
    this.redeliverButton.hidden = redeliver === null;
    if (redeliver) {
      this.redeliverButton.textContent = redeliver;
      this.redeliverButton.setAttribute('aria-label', `${redeliver}: webhook of generation ${record.id}`);
    }
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
      this.media.replaceChildren(progressOf(record));
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

/** The delivery, its next attempt while pending, and the attempt log (newest first). */
function webhookOf(record: Generation): HTMLElement[] {
  const { callback } = record;
  if (!callback.url) return [el('p', { class: 'webhook' }, 'No webhook.')];
  // The record says `none` until the first attempt; to the user a running generation's webhook is pending.
  const state = callback.state === 'none' && IN_FLIGHT.has(record.status) ? 'pending' : callback.state;
  const line = el(
    'p',
    { class: 'webhook' },
    'Webhook ',
    el('span', { class: `badge badge-callback-${state}` }, state),
    ` · ${callback.attempts} attempt${callback.attempts === 1 ? '' : 's'}`,
    callback.last_status_code === null ? '' : ` · last status ${callback.last_status_code}`,
    callback.next_attempt_at ? ' · next attempt ' : '',
    callback.next_attempt_at ? el('time', { datetime: callback.next_attempt_at }, formatTime(callback.next_attempt_at)) : null,
    ' · ',
    el('code', { class: 'url' }, callback.url),
  );
  if (callback.attempt_log.length === 0) return [line];
  const attempts = [...callback.attempt_log].reverse().map((attempt) =>
    el(
      'li',
      { class: `attempt attempt-${attempt.result}`, 'data-attempt': String(attempt.attempt) },
      `#${attempt.attempt} `,
      el('time', { datetime: attempt.at }, formatTime(attempt.at)),
      ` · ${attempt.status_code ?? attempt.result.replace('_', ' ')}`,
      attempt.duration_ms === null ? '' : ` · ${formatDuration(attempt.duration_ms)}`,
      attempt.error ? ` · ${attempt.error}` : '',
      attempt.trigger === 'retry_now' ? ' · retry now' : '',
    ),
  );
  return [line, el('ol', { class: 'attempts', 'aria-label': 'Webhook attempts' }, ...attempts)];
}

/** "Retry now" while a delivery is pending, "Redeliver" once a finished generation's has settled, else none. */
function redeliverLabel(record: Generation): string | null {
  const { callback } = record;
  if (!callback.url || callback.state === 'none') return null;
  if (callback.state === 'pending') return 'Retry now';
  return IN_FLIGHT.has(record.status) ? null : 'Redeliver';
}

function detailsOf(record: Generation): HTMLElement[] {
  const { video } = record;
  return [
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
