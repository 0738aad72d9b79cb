/**
 * A card's "Steps" disclosure: the generation's Step Functions run as the API's
 * history route summarizes it (states entered in order, how long each took, retries
 * with their errors). Fetched only while open, on the card's own poll, and no more
 * once the run has ended.
 */
import { ApiFailure, type GenerationHistory } from './api.js';
import { el } from './dom.js';
import { formatDuration } from './format.js';

type StateSummary = NonNullable<GenerationHistory['execution']>['states'][number];

export class StepsView {
  readonly element: HTMLDetailsElement;
  private readonly body = el('div', { class: 'steps-body' }, el('p', { class: 'steps-message' }, 'Loading…'));
  private loading = false;
  /** The run has ended (or its history is gone): what is shown is final. */
  private settled = false;
  private inFlight = true;

  constructor(
    private readonly id: string,
    private readonly load: (id: string) => Promise<GenerationHistory>,
  ) {
    this.element = el('details', { class: 'steps' }, el('summary', {}, 'Steps'), this.body);
    this.element.addEventListener('toggle', () => void this.refresh());
  }

  /** Called on each of the card's polls: fetches again while open and the run goes on. */
  poll(inFlight: boolean): void {
    this.inFlight = inFlight;
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    if (!this.element.open || this.loading || this.settled) return;
    const { inFlight } = this;
    this.loading = true;
    try {
      const history = await this.load(this.id);
      const { execution } = history;
      this.settled = execution ? execution.status !== 'RUNNING' : !inFlight;
      this.body.replaceChildren(execution ? this.listOf(execution.states) : message(inFlight ? 'The run has not started yet.' : 'No history: the run is past Step Functions’ retention.'));
    } catch (error) {
      this.settled = error instanceof ApiFailure && error.status === 404;
      this.body.replaceChildren(message(`History unavailable: ${error instanceof ApiFailure ? `${error.errorName}: ${error.message}` : String(error)}`));
    } finally {
      this.loading = false;
    }
  }

  private listOf(states: StateSummary[]): HTMLElement {
    return el('ol', { class: 'steps-list', 'aria-label': `Steps of ${this.id}` }, ...states.map(stateItem));
  }
}

function stateItem(state: StateSummary): HTMLElement {
  const failures = [
    ...state.retries.map((retry) => failureItem('retry', 'Retried', retry.error, retry.cause)),
    ...(state.error ? [failureItem('error', 'Failed', state.error.error, state.error.cause)] : []),
  ];
  return el(
    'li',
    { class: `steps-state steps-${state.type.toLowerCase()}`, 'data-state': state.name },
    el('span', { class: 'steps-name' }, state.name),
    el('span', { class: 'steps-type' }, state.type),
    el('span', { class: 'steps-duration' }, state.duration_ms === null ? 'running' : formatDuration(state.duration_ms)),
    failures.length ? el('ul', { class: 'steps-failures' }, ...failures) : null,
  );
}

function failureItem(kind: string, label: string, error: string, cause: string | null): HTMLElement {
  return el('li', { class: `steps-${kind}` }, `${label}: `, el('strong', { class: 'steps-error' }, error), cause ? `: ${cause}` : '');
}

const message = (text: string): HTMLElement => el('p', { class: 'steps-message' }, text);
