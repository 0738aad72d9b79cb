/**
 * The signed-in key's generations, newest first, kept live by short polling the public
 * list endpoint. Cards are updated in place, never rebuilt, so a playing video or a
 * focused button is left alone.
 *
 * The status filter is the API's `status` query, so it reaches every generation; the
 * search (a prompt or id substring) runs in the page over the generations loaded, which
 * "Show older" extends, and says so.
 */
import { ApiFailure, type Generation, type ReelhookApi } from './api.js';
import { announce, el } from './dom.js';
import { formatTime } from './format.js';
import { GenerationCard } from './generation-card.js';

/** Short enough to watch a generation move, light enough for a local server. */
const POLL_INTERVAL_MS = 1500;
const PAGE_SIZE = 20;
/** The list endpoint's largest page. */
const MAX_LIMIT = 100;
/** The API's statuses; '' lists them all. */
const STATUS_FILTERS = ['', 'queued', 'generating', 'completed', 'error'] as const;

export interface GenerationListOptions {
  api: ReelhookApi;
  onUnauthorized(failure: ApiFailure): void;
  /** Every refresh's records, for the charts. */
  onRecords(records: readonly Generation[]): void;
}

export class GenerationList {
  readonly element: HTMLElement;
  private readonly cards = new Map<string, GenerationCard>();
  private readonly items = el('div', { class: 'generation-items' });
  private readonly empty = el('p', { class: 'empty', hidden: true }, 'No generations yet: start one with the form.');
  private readonly status = el('p', { class: 'live-status' });
  private readonly olderButton = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older');
  private readonly statusSelect = el(
    'select',
    { id: 'status-filter' },
    ...STATUS_FILTERS.map((status) => el('option', { value: status }, status || 'all')),
  );
  private readonly searchInput = el('input', { id: 'search', type: 'search', placeholder: 'Prompt or id', autocomplete: 'off', 'aria-describedby': 'search-note' });
  private readonly searchNote = el('p', { class: 'help', id: 'search-note', hidden: true });
  private records: readonly Generation[] = [];
  /** A generation the form just started: scrolled to once its card is on the page. */
  private revealId: string | null = null;
  private limit = PAGE_SIZE;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private refreshAgain = false;

  constructor(private readonly options: GenerationListOptions) {
    this.element = el(
      'section',
      { class: 'panel generations', 'aria-labelledby': 'generations-title' },
      el('div', { class: 'section-head' }, el('h2', { id: 'generations-title' }, 'Generations'), this.status),
      el(
        'div',
        { class: 'list-filters' },
        el('label', { for: 'status-filter' }, 'Status ', this.statusSelect),
        el('label', { for: 'search' }, 'Search ', this.searchInput),
      ),
      this.searchNote,
      this.empty,
      this.items,
      this.olderButton,
    );
    this.olderButton.addEventListener('click', () => {
      this.limit = Math.min(MAX_LIMIT, this.limit + PAGE_SIZE);
      void this.refresh();
    });
    this.statusSelect.addEventListener('change', () => void this.refresh());
    this.searchInput.addEventListener('input', () => this.applySearch());
  }

  /** Scrolls to `id`'s card once it is listed, clearing a filter or search that would hide it. */
  reveal(id: string): void {
    this.revealId = id;
    this.statusSelect.value = '';
    this.searchInput.value = '';
    void this.refresh();
  }

  start(): void {
    this.running = true;
    document.addEventListener('visibilitychange', this.onVisibilityChange);
    void this.refresh();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibilityChange);
  }

  /** Fetches now; a call while a fetch is under way asks for one more right after it. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.refreshAgain = true;
      return this.inFlight;
    }
    clearTimeout(this.timer);
    this.inFlight = this.fetchOnce().finally(() => {
      this.inFlight = null;
      if (!this.running) return;
      if (this.refreshAgain) {
        this.refreshAgain = false;
        void this.refresh();
      } else if (!document.hidden) {
        this.timer = setTimeout(() => void this.refresh(), POLL_INTERVAL_MS);
      }
    });
    return this.inFlight;
  }

  private readonly onVisibilityChange = (): void => {
    // A hidden tab stops polling; coming back refreshes at once.
    if (!document.hidden && this.running) void this.refresh();
  };

  private async fetchOnce(): Promise<void> {
    try {
      const status = this.statusSelect.value;
      const page = await this.options.api.listGenerations(this.limit, status || undefined);
      // A page for a filter changed meanwhile is dropped: the change asked for another fetch.
      if (!this.running || status !== this.statusSelect.value) return;
      this.render(page.data);
      this.olderButton.hidden = page.next_cursor === null || this.limit >= MAX_LIMIT;
      this.status.textContent = `Live · updated ${formatTime(new Date().toISOString())}`;
      this.status.classList.remove('stale');
      this.options.onRecords(page.data);
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 401) {
        this.stop();
        this.options.onUnauthorized(error);
        return;
      }
      this.status.textContent = `Could not refresh (${error instanceof ApiFailure ? `${error.errorName}: ${error.message}` : String(error)}); retrying.`;
      this.status.classList.add('stale');
    }
  }

  private render(records: readonly Generation[]): void {
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.id);
      const card = this.cards.get(record.id);
      if (card) {
        const before = card.status;
        card.update(record);
        if (before !== record.status) announceStatus(record);
      } else {
        this.cards.set(record.id, new GenerationCard(record, { cancel: (id) => this.cancel(id), redeliver: (id) => this.redeliver(id), history: (id) => this.options.api.getHistory(id) }));
      }
    }
    for (const [id, card] of this.cards) {
      if (seen.has(id)) continue;
      card.element.remove();
      this.cards.delete(id);
    }
    // Newest first, as the API lists them; moving a node that is already in place does nothing visible.
    records.forEach((record, index) => {
      const element = (this.cards.get(record.id) as GenerationCard).element;
      if (this.items.children[index] !== element) this.items.insertBefore(element, this.items.children[index] ?? null);
    });
    this.records = records;
    this.applySearch();
    const revealed = this.revealId === null ? undefined : this.cards.get(this.revealId);
    if (revealed) {
      this.revealId = null;
      revealed.element.scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  }

  /** Hides the cards the search does not match, and says what the search covers. */
  private applySearch(): void {
    const query = this.searchInput.value.trim().toLowerCase();
    let shown = 0;
    for (const record of this.records) {
      const matches = query === '' || record.prompt.toLowerCase().includes(query) || record.id.toLowerCase().includes(query);
      const card = this.cards.get(record.id);
      if (card) card.element.hidden = !matches;
      if (matches) shown += 1;
    }
    const loaded = this.records.length;
    this.searchNote.hidden = query === '';
    this.searchNote.textContent = `${shown} of the ${loaded} loaded generation${loaded === 1 ? '' : 's'} match (the search covers the loaded ones only).`;
    const status = this.statusSelect.value;
    this.empty.hidden = shown > 0;
    this.empty.textContent =
      loaded > 0 ? 'No loaded generation matches the search.' : status ? `No ${status} generations.` : 'No generations yet: start one with the form.';
  }

  private async cancel(id: string): Promise<void> {
    await this.options.api.cancelGeneration(id);
    await this.refresh();
  }

  private async redeliver(id: string): Promise<void> {
    await this.options.api.redeliverWebhook(id);
    await this.refresh();
  }
}

function announceStatus(record: Generation): void {
  if (record.status === 'completed') announce(`Generation ${record.id} completed.`);
  else if (record.status === 'error') announce(`Generation ${record.id} failed: ${record.error?.name ?? 'error'}.`);
}
