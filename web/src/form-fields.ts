/**
 * One form control per field of the request schema. The controls do not validate:
 * what the user typed goes to the API as typed (numbers as numbers when they parse),
 * so the messages shown are the API's own.
 */
import { el, uniqueId } from './dom.js';
import type { JsonSchema } from './schema.js';

export interface FieldControl {
  /** The field's path in the body, dot-separated like the API's ValidationError fields. */
  readonly name: string;
  readonly element: HTMLElement;
  /** Controls of nested fields (`advanced_camera_control.movement_value`). */
  readonly children: readonly FieldControl[];
  /** What to send; undefined leaves the field out of the body. */
  value(): unknown;
  /** What the user entered, carried over when another model is chosen. */
  state(): unknown;
  restore(state: unknown): void;
  showIssue: (message: string | null) => void;
  focus(): void;
}

/** Strings longer than this get a multi-line box. */
const LONG_TEXT_CHARS = 256;

export function createFieldControl(name: string, schema: JsonSchema, required: boolean): FieldControl {
  if (schema.enum) return choiceControl(name, schema, required);
  if (schema.type === 'array' && schema.items?.enum) return multipleChoiceControl(name, schema, schema.items.enum);
  if (schema.type === 'object' && schema.properties) return groupControl(name, schema, schema.properties);
  if (schema.type === 'number' || schema.type === 'integer') return numberControl(name, schema, required);
  if (acceptsString(schema)) return textControl(name, schema, required);
  return jsonControl(name, schema, required);
}

function acceptsString(schema: JsonSchema): boolean {
  return schema.type === 'string' || (schema.anyOf ?? []).some((branch) => branch.type === 'string');
}

/** The label, help and error wiring every single-input field shares. */
function labelledField(
  name: string,
  schema: JsonSchema,
  required: boolean,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint: string | null,
): { element: HTMLElement; showIssue: (message: string | null) => void } {
  const id = uniqueId(`field-${name.replace(/\W/g, '-')}`);
  input.id = id;
  input.name = name;
  const help = helpText(schema, hint);
  const helpElement = help ? el('p', { class: 'help', id: `${id}-help` }, help) : null;
  const error = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  input.setAttribute('aria-describedby', [helpElement?.id, error.id].filter(Boolean).join(' '));
  if (required) input.setAttribute('aria-required', 'true');
  const wide = input instanceof HTMLTextAreaElement || input.type === 'url';
  const element = el(
    'div',
    { class: wide ? 'field field-wide' : 'field', 'data-field': name },
    el('label', { for: id }, el('code', {}, fieldLabel(name)), required ? el('span', { class: 'required' }, ' required') : null),
    input,
    helpElement,
    error,
  );
  return { element, showIssue: (message) => showFieldIssue(input, error, message) };
}

/** The API's field name; a nested field shows only its own part, its group names the rest. */
function fieldLabel(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function showFieldIssue(input: HTMLElement, error: HTMLElement, message: string | null): void {
  error.textContent = message ?? '';
  error.hidden = message === null;
  if (message === null) input.removeAttribute('aria-invalid');
  else input.setAttribute('aria-invalid', 'true');
}

function helpText(schema: JsonSchema, hint: string | null): string {
  const parts = [schema.description, hint, schema.default !== undefined && schema.default !== null ? `Default: ${formatDefault(schema.default)}.` : null];
  return parts.filter(Boolean).join(' ');
}

function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : `${value as string | number | boolean}`;
}

/** One of a fixed set: the registry's enums (duration's 5 | 10 | "5" | "10" shows as 5 and 10 and is sent as a number). */
function choiceControl(name: string, schema: JsonSchema, required: boolean): FieldControl {
  const values = schema.enum ?? [];
  const labels = [...new Set(values.map(String))];
  const hasDefault = schema.default !== undefined;
  const select = el(
    'select',
    {},
    // Without a default, "not set" must stay choosable so the field can be left out.
    hasDefault ? null : el('option', { value: '' }, required ? 'Choose…' : '(not set)'),
    ...labels.map((label) => el('option', { value: label, selected: hasDefault && formatDefault(schema.default) === label }, label)),
  );
  const field = labelledField(name, schema, required, select, null);
  return {
    name,
    element: field.element,
    children: [],
    value: () => (select.value === '' ? undefined : (values.find((value) => String(value) === select.value) ?? select.value)),
    state: () => select.value,
    restore: (state) => {
      if (typeof state === 'string' && (state === '' || labels.includes(state))) select.value = state;
    },
    showIssue: field.showIssue,
    focus: () => select.focus(),
  };
}

function numberControl(name: string, schema: JsonSchema, required: boolean): FieldControl {
  const integer = schema.type === 'integer';
  // A text box, not type=number: the browser would silently drop what it cannot parse instead of letting the API say why.
  const input = el('input', {
    type: 'text',
    inputmode: integer ? 'numeric' : 'decimal',
    autocomplete: 'off',
    placeholder: schema.default === undefined ? null : formatDefault(schema.default),
  });
  const range = schema.minimum !== undefined && schema.maximum !== undefined ? `${integer ? 'An integer' : 'A number'} from ${schema.minimum} to ${schema.maximum}.` : null;
  return singleInput(name, schema, required, input, range, (text) => {
    const number = Number(text);
    return text.trim() !== '' && Number.isFinite(number) ? number : text;
  });
}

function textControl(name: string, schema: JsonSchema, required: boolean): FieldControl {
  // The schema carries no URL format; the API's naming does.
  const url = name.endsWith('_url');
  const input =
    !url && (schema.maxLength ?? 0) > LONG_TEXT_CHARS
      ? el('textarea', { rows: name === 'prompt' ? 3 : 2 })
      : el('input', { type: url ? 'url' : 'text', autocomplete: 'off', spellcheck: false });
  return singleInput(name, schema, required, input, null, (text) => text);
}

/** Free-form JSON (metadata): sent parsed when it parses, else as the text typed, which the API then names. */
function jsonControl(name: string, schema: JsonSchema, required: boolean): FieldControl {
  const input = el('textarea', { rows: 2, spellcheck: false, placeholder: schema.default === undefined ? null : JSON.stringify(schema.default) });
  return singleInput(name, schema, required, input, 'JSON.', (text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  });
}

/** A text box whose empty value leaves the field out and whose text `parse` turns into the value sent. */
function singleInput(
  name: string,
  schema: JsonSchema,
  required: boolean,
  input: HTMLInputElement | HTMLTextAreaElement,
  hint: string | null,
  parse: (text: string) => unknown,
): FieldControl {
  const field = labelledField(name, schema, required, input, hint);
  return {
    name,
    element: field.element,
    children: [],
    value: () => (input.value === '' ? undefined : parse(input.value)),
    state: () => input.value,
    restore: (state) => {
      if (typeof state === 'string') input.value = state;
    },
    showIssue: field.showIssue,
    focus: () => input.focus(),
  };
}

/** Check boxes for an array of enum values (callback_events). */
function multipleChoiceControl(name: string, schema: JsonSchema, options: unknown[]): FieldControl {
  const defaults = Array.isArray(schema.default) ? schema.default.map(String) : [];
  const boxes = options.map((option) => {
    const id = uniqueId(`field-${name}`);
    const box = el('input', { type: 'checkbox', id, name, value: String(option), checked: defaults.includes(String(option)) });
    return { box, element: el('label', { class: 'check', for: id }, box, ` ${String(option)}`) };
  });
  const group = fieldGroup(name, schema, boxes.map((entry) => entry.element));
  return {
    name,
    element: group.element,
    children: [],
    value: () => boxes.filter(({ box }) => box.checked).map(({ box }) => box.value),
    state: () => boxes.filter(({ box }) => box.checked).map(({ box }) => box.value),
    restore: (state) => {
      if (Array.isArray(state)) for (const { box } of boxes) box.checked = state.includes(box.value);
    },
    showIssue: group.showIssue,
    focus: () => boxes[0]?.box.focus(),
  };
}

/** A nested object (advanced_camera_control): sent only when one of its fields is filled in. */
function groupControl(name: string, schema: JsonSchema, properties: Record<string, JsonSchema>): FieldControl {
  const required = new Set(schema.required ?? []);
  const children = Object.entries(properties).map(([child, childSchema]) =>
    createFieldControl(`${name}.${child}`, childSchema, required.has(child)),
  );
  const group = fieldGroup(name, schema, children.map((child) => child.element));
  return {
    name,
    element: group.element,
    children,
    value: () => {
      const entries = children
        .map((child) => [child.name.slice(name.length + 1), child.value()] as const)
        .filter(([, value]) => value !== undefined);
      return entries.length === 0 ? undefined : Object.fromEntries(entries);
    },
    state: () => children.map((child) => child.state()),
    restore: (state) => {
      if (Array.isArray(state)) children.forEach((child, index) => child.restore(state[index]));
    },
    showIssue: group.showIssue,
    focus: () => children[0]?.focus(),
  };
}

function fieldGroup(
  name: string,
  schema: JsonSchema,
  content: HTMLElement[],
): { element: HTMLElement; showIssue: (message: string | null) => void } {
  const id = uniqueId(`group-${name}`);
  const help = helpText(schema, null);
  const error = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const element = el(
    'fieldset',
    { class: 'field field-wide', 'data-field': name, 'aria-describedby': [help ? `${id}-help` : null, error.id].filter(Boolean).join(' ') },
    el('legend', {}, el('code', {}, fieldLabel(name))),
    el('div', { class: 'group-content' }, ...content),
    help ? el('p', { class: 'help', id: `${id}-help` }, help) : null,
    error,
  );
  return { element, showIssue: (message) => showFieldIssue(element, error, message) };
}
