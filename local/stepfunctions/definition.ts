/**
 * Walking and adapting an Amazon States Language (JSONPath) definition before the
 * `aws-local-stepfunctions` interpreter runs it. Every transform returns a new
 * definition and leaves its argument untouched.
 */

/** A state as found in a definition; only the fields local mode reads are typed. */
export interface AslState {
  Type?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Seconds?: number;
  Retry?: AslRetrier[];
  Branches?: AslDefinition[];
  Iterator?: AslDefinition;
  ItemProcessor?: AslDefinition;
  [field: string]: unknown;
}

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'NONE' | 'FULL';
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [field: string]: unknown;
}

/** Longest delay Node's timers honour (2^31−1 ms); anything longer fires after 1 ms. */
export const MAX_TIMER_SECONDS = 2_147_483;

export function asAslDefinition(definition: Record<string, unknown>): AslDefinition {
  if (typeof definition.StartAt !== 'string' || typeof definition.States !== 'object' || definition.States === null) {
    throw new Error('State machine definition needs StartAt and States');
  }
  return structuredClone(definition) as AslDefinition;
}

/**
 * Visits every state, those inside Parallel branches and Map item processors included.
 * State names must be unique across the whole definition (as AWS requires), because
 * the interpreter keys its per-state overrides by name alone.
 */
export function forEachState(definition: AslDefinition, visit: (name: string, state: AslState) => void): void {
  const seen = new Set<string>();
  const walk = (machine: AslDefinition): void => {
    for (const [name, state] of Object.entries(machine.States)) {
      if (seen.has(name)) throw new Error(`State name "${name}" appears more than once in the definition`);
      seen.add(name);
      visit(name, state);
      for (const branch of state.Branches ?? []) walk(branch);
      const itemProcessor = state.ItemProcessor ?? state.Iterator;
      if (itemProcessor) walk(itemProcessor);
    }
  };
  walk(definition);
}

/**
 * The interpreter gives a Task 60 s unless it sets `TimeoutSeconds`; AWS gives it no
 * practical limit. Tasks without their own timeout get the longest one Node's timers can
 * hold, and longer explicit timeouts are capped so that they do not fire at once.
 */
export function withAwsTaskTimeouts(definition: AslDefinition): AslDefinition {
  const adapted = structuredClone(definition);
  if (adapted.TimeoutSeconds !== undefined) adapted.TimeoutSeconds = Math.min(adapted.TimeoutSeconds, MAX_TIMER_SECONDS);
  forEachState(adapted, (_name, state) => {
    if (state.Type !== 'Task') return;
    if (state.TimeoutSecondsPath !== undefined) {
      readTimeoutFromStateInput(state);
      return;
    }
    state.TimeoutSeconds = Math.min(state.TimeoutSeconds ?? MAX_TIMER_SECONDS, MAX_TIMER_SECONDS);
  });
  return adapted;
}

/** Where the adapted definition hands a Task its `TimeoutSecondsPath` value. */
const TIMEOUT_PARAMETER = 'ReelhookTimeoutSeconds';

/**
 * AWS reads `TimeoutSecondsPath` from the state's input; the interpreter reads it from the
 * input after `Parameters`. The path moves into a Parameters field of its own, read from
 * the state input there, which the Lambda adapter never passes on (it sends only the Payload).
 */
function readTimeoutFromStateInput(state: AslState): void {
  if (state.Parameters === undefined) return;
  state.Parameters = { ...state.Parameters, [`${TIMEOUT_PARAMETER}.$`]: state.TimeoutSecondsPath };
  state.TimeoutSecondsPath = `$.${TIMEOUT_PARAMETER}`;
}

/**
 * Context fields the interpreter overwrites: it sets `$$.Execution.StartTime` to the
 * moment a run begins (wrong for a resumed execution) and `$$.Execution.Input` to the
 * branch or item input inside Parallel and Map. Paths to them are redirected to fields
 * it leaves alone, which the engine fills with the execution's own values.
 */
export const PINNED_CONTEXT_FIELDS = { StartTime: 'OriginalStartTime', Input: 'OriginalInput' } as const;

const pinnedContextPath = /\$\$\.Execution\.(StartTime|Input)\b/g;

export function withPinnedExecutionContext(definition: AslDefinition): AslDefinition {
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.replace(
        pinnedContextPath,
        (_match, field: keyof typeof PINNED_CONTEXT_FIELDS) => `$$.Execution.${PINNED_CONTEXT_FIELDS[field]}`,
      );
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, rewrite(inner)]));
    }
    return value;
  };
  return rewrite(definition) as AslDefinition;
}
