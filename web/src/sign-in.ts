/** Asks for the API key and checks it against the API before keeping it. */
import { ApiFailure, ReelhookApi } from './api.js';
import { el } from './dom.js';

export function createSignIn(onSignedIn: (apiKey: string) => void, notice: string | null): HTMLElement {
  const input = el('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: false,
    required: true,
    'aria-describedby': 'api-key-help',
  });
  const problem = el('p', { class: 'field-error', role: 'alert' }, notice ?? '');
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = el(
    'form',
    { class: 'panel sign-in', novalidate: true, 'aria-labelledby': 'sign-in-title' },
    el('h2', { id: 'sign-in-title' }, 'Sign in'),
    el('div', { class: 'field field-wide' }, el('label', { for: 'api-key' }, 'API key'), input),
    el(
      'p',
      { class: 'help', id: 'api-key-help' },
      'The API key printed by reelhook dev (rk_…). It stays in this tab’s session storage and is sent only to this server’s API.',
    ),
    problem,
    el('div', { class: 'form-actions' }, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const apiKey = input.value.trim();
    if (apiKey === '') {
      problem.textContent = 'Enter an API key.';
      input.focus();
      return;
    }
    problem.textContent = '';
    submit.disabled = true;
    new ReelhookApi(apiKey)
      .listGenerations(1)
      .then(() => onSignedIn(apiKey))
      .catch((error: unknown) => {
        problem.textContent = error instanceof ApiFailure ? `${error.errorName}: ${error.message}` : String(error);
        input.focus();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => input.focus());
  return form;
}
