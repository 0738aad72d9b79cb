/**
 * The "new generation" form: the chosen model's fields, straight from the registry's
 * schema, and the API's ValidationError messages next to the fields they name.
 */
import { ApiFailure, type Generation, type ReelhookApi } from './api.js';
import { el } from './dom.js';
import { createFieldControl, type FieldControl } from './form-fields.js';
import { modelForms } from './schema.js';

/** What the form starts with: the model `reelhook generate` uses when --model is not given (cli/generate.ts). */
const DEFAULT_MODEL = 'kling-video/v1.6/standard/text-to-video';

export interface GenerationFormOptions {
  api: ReelhookApi;
  onCreated(generation: Generation): void;
  onUnauthorized(failure: ApiFailure): void;
}

export function createGenerationForm(options: GenerationFormOptions): HTMLElement {
  const forms = modelForms();
  const modelSelect = el(
    'select',
    { id: 'model', name: 'model', 'aria-describedby': 'model-help' },
    ...forms.map((form) => el('option', { value: form.model, selected: form.model === DEFAULT_MODEL }, form.model)),
  );
  const fieldsContainer = el('div', { class: 'fields' });
  const problems = el('div', { class: 'form-problems', role: 'alert', tabindex: -1, hidden: true });
  const status = el('p', { class: 'form-status', role: 'status' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Generate');
  const form = el(
    'form',
    { novalidate: true, 'aria-labelledby': 'new-generation-title' },
    el(
      'div',
      { class: 'field field-wide' },
      el('label', { for: 'model' }, el('code', {}, 'model'), el('span', { class: 'required' }, ' required')),
      modelSelect,
      el('p', { class: 'help', id: 'model-help' }, 'The fields below follow the chosen model.'),
    ),
    fieldsContainer,
    problems,
    el('div', { class: 'form-actions' }, submit, status),
  );

  let controls: FieldControl[] = [];
  const clearProblems = (): void => {
    for (const control of allControls(controls)) control.showIssue(null);
    problems.hidden = true;
    problems.replaceChildren();
  };

  const showModel = (model: string): void => {
    const chosen = forms.find((candidate) => candidate.model === model) ?? forms[0];
    if (chosen === undefined) return;
    // Whatever was typed into a field the new model also has stays.
    const entered = new Map(controls.map((control) => [control.name, control.state()]));
    controls = chosen.fields.map((field) => createFieldControl(field.name, field.schema, field.required));
    for (const control of controls) if (entered.has(control.name)) control.restore(entered.get(control.name));
    fieldsContainer.replaceChildren(...controls.map((control) => control.element));
    clearProblems();
  };

  const showFailure = (failure: ApiFailure): void => {
    const byName = new Map(allControls(controls).map((control) => [control.name, control]));
    const flagged: FieldControl[] = [];
    for (const issue of failure.issues) {
      const control = controlFor(issue.field, byName);
      if (!control) continue;
      control.showIssue(issue.message);
      flagged.push(control);
    }
    problems.replaceChildren(el('p', {}, el('strong', {}, failure.errorName), `: ${failure.message}`));
    if (failure.issues.length > 0) {
      problems.append(el('ul', {}, ...failure.issues.map((issue) => el('li', {}, el('code', {}, issue.field), `: ${issue.message}`))));
    }
    problems.hidden = false;
    if (flagged[0]) flagged[0].focus();
    else problems.focus();
  };

  let submitting = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (submitting) return;
    submitting = true;
    form.setAttribute('aria-busy', 'true');
    submit.textContent = 'Starting…';
    clearProblems();
    status.textContent = '';
    options.api
      .createGeneration(requestBody(modelSelect.value, controls))
      .then((generation) => {
        status.textContent = `Started ${generation.id}.`;
        options.onCreated(generation);
      })
      .catch((error: unknown) => {
        const failure = error instanceof ApiFailure ? error : new ApiFailure('Error', String(error), 0);
        if (failure.status === 401) options.onUnauthorized(failure);
        else showFailure(failure);
      })
      .finally(() => {
        submitting = false;
        form.removeAttribute('aria-busy');
        submit.textContent = 'Generate';
      });
  });
  modelSelect.addEventListener('change', () => showModel(modelSelect.value));
  showModel(modelSelect.value);

  return el('section', { class: 'panel new-generation' }, el('h2', { id: 'new-generation-title' }, 'New generation'), form);
}

/** The body as the user filled it in: empty fields are left out, so the API's defaults apply. */
function requestBody(model: string, controls: readonly FieldControl[]): Record<string, unknown> {
  const body: Record<string, unknown> = { model };
  for (const control of controls) {
    const value = control.value();
    if (value !== undefined) body[control.name] = value;
  }
  return body;
}

function allControls(controls: readonly FieldControl[]): FieldControl[] {
  return controls.flatMap((control) => [control, ...allControls(control.children)]);
}

/** The control an issue names, or the closest enclosing one (an unknown key inside a group). */
function controlFor(field: string, byName: ReadonlyMap<string, FieldControl>): FieldControl | undefined {
  for (let path = field; path !== ''; path = path.slice(0, Math.max(0, path.lastIndexOf('.')))) {
    const control = byName.get(path);
    if (control) return control;
  }
  return undefined;
}
