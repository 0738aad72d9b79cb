/** The dashboard of `reelhook dev`: sign in with an API key, then watch and start generations. */
import './styles.css';
import { type ApiFailure, type Generation, ReelhookApi } from './api.js';
import { el } from './dom.js';
import { providerDurationCharts } from './duration-chart.js';
import { createGenerationForm } from './generation-form.js';
import { GenerationList } from './generation-list.js';
import { modelForms } from './schema.js';
import { forgetApiKey, saveApiKey, savedApiKey } from './session.js';
import { createSignIn } from './sign-in.js';

const app = document.getElementById('app') as HTMLElement;
const session = document.getElementById('session') as HTMLElement;

function showSignIn(notice: string | null = null): void {
  session.replaceChildren();
  app.className = 'signed-out';
  app.replaceChildren(
    createSignIn((apiKey) => {
      saveApiKey(apiKey);
      showDashboard(apiKey);
    }, notice),
  );
}

function showDashboard(apiKey: string): void {
  const api = new ReelhookApi(apiKey);
  const signOut = (notice: string | null): void => {
    list.stop();
    forgetApiKey();
    showSignIn(notice);
  };
  const onUnauthorized = (failure: ApiFailure): void => signOut(`${failure.errorName}: ${failure.message}`);

  const models = modelForms().map((form) => form.model);
  const charts = el('div', { class: 'charts-slot' }, providerDurationCharts(models, []));
  let chartedRuns = '';
  const list = new GenerationList({
    api,
    onUnauthorized,
    onRecords: (records: readonly Generation[]) => {
      // Redrawn only when a provider time changed, not on every poll.
      const runs = JSON.stringify(records.map((record) => [record.id, record.model, record.timeline.provider_accepted, record.timeline.provider_done]));
      if (runs === chartedRuns) return;
      chartedRuns = runs;
      charts.replaceChildren(providerDurationCharts(models, records));
    },
  });
  const form = createGenerationForm({ api, onUnauthorized, onCreated: (generation) => list.reveal(generation.id) });

  const signOutButton = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOutButton.addEventListener('click', () => signOut(null));
  session.replaceChildren('Signed in with an API key · ', signOutButton);
  app.className = 'dashboard';
  app.replaceChildren(el('div', { class: 'side' }, form), el('div', { class: 'main' }, charts, list.element));
  list.start();
}

const apiKey = savedApiKey();
if (apiKey) showDashboard(apiKey);
else showSignIn();
