/**
 * EventBridge event patterns, matched locally as the service matches them, for the subset
 * the app's rules use: fields that must be present, nested objects (`detail`), and for a
 * leaf an array of alternatives, each an exact value or `{ "prefix": "…" }`. A field whose
 * value is an array matches when any element does. Any other operator (`anything-but`,
 * `numeric`, `exists`, …) is refused when a rule is loaded, so a pattern is never matched
 * more loosely locally than in AWS.
 */

export type EventPattern = { readonly [field: string]: unknown };

/** A rule's pattern uses what the local matcher does not implement. */
export class UnsupportedEventPattern extends Error {
  override readonly name = 'UnsupportedEventPattern';
}

type Leaf = string | number | boolean | null;
const isLeaf = (value: unknown): value is Leaf => value === null || ['string', 'number', 'boolean'].includes(typeof value);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Throws {@link UnsupportedEventPattern} naming the path of anything outside the subset.
 *
 * @example
 * checkEventPattern({ source: ['reelhook'], 'detail-type': ['Video Generation Requested'] }, 'rule Intake');
 */
export function checkEventPattern(pattern: unknown, where: string, path = ''): asserts pattern is EventPattern {
  if (!isObject(pattern) || Object.keys(pattern).length === 0) {
    throw new UnsupportedEventPattern(`${where}: the pattern${path ? ` at ${path}` : ''} must be a non-empty object`);
  }
  for (const [field, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${field}` : field;
    if (isObject(value)) {
      checkEventPattern(value, where, at);
      continue;
    }
    if (!Array.isArray(value) || value.length === 0) throw new UnsupportedEventPattern(`${where}: ${at} must be a non-empty array or an object`);
    for (const alternative of value) {
      if (isLeaf(alternative)) continue;
      const operators = isObject(alternative) ? Object.entries(alternative) : [];
      const [[operator, argument] = []] = operators;
      if (operators.length === 1 && operator === 'prefix' && typeof argument === 'string') continue;
      throw new UnsupportedEventPattern(`${where}: ${at} uses ${JSON.stringify(alternative)}, which local mode does not match (exact values and prefix only)`);
    }
  }
}

/** Whether the event (as a rule target receives it) matches the pattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    if (!(field in event)) return false;
    const actual = event[field];
    if (isObject(expected)) return matchesEventPattern(expected, actual);
    const values = Array.isArray(actual) ? actual : [actual];
    return (expected as unknown[]).some((alternative) => values.some((value) => matchesLeaf(alternative, value)));
  });
}

function matchesLeaf(alternative: unknown, value: unknown): boolean {
  if (isLeaf(alternative)) return alternative === value;
  const { prefix } = alternative as { prefix: string };
  return typeof value === 'string' && value.startsWith(prefix);
}
