/**
 * What DynamoDB can store of a record, checked by us rather than left to the table:
 * dynalite enforces few of these limits (not the nesting depth), so the API must refuse a
 * value itself for local mode and AWS to answer the same 400 naming the field.
 */
import type { FieldIssue } from '#shared/errors.js';

/**
 * DynamoDB numbers are decimals of magnitude 1e-130 to 1e126, and the document client
 * refuses numbers outside ±(2^53 − 1) rather than round them.
 */
const MIN_STORABLE_MAGNITUDE = 1e-130;
/**
 * DynamoDB nests a document at most 32 levels, counting the top-level attribute as level 1
 * and the value innermost: an object or array at level 32 would hold values at level 33.
 */
export const MAX_NESTING_LEVELS = 32;
/** DynamoDB's item size limit, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;

const NUMBER_RANGE_MESSAGE = `must be 0 or a number from ${MIN_STORABLE_MAGNITUDE} to ${Number.MAX_SAFE_INTEGER} in magnitude`;
const NESTING_MESSAGE = `nests objects and arrays deeper than DynamoDB's ${MAX_NESTING_LEVELS} levels (the field itself is level 1)`;
/** The SDK's marshalling assigns keys onto plain objects, where `__proto__` sets the prototype instead; dynalite drops it. */
const PROTOTYPE_KEY = '__proto__';

/**
 * The issues of a top-level attribute's value (`path` names it; '' lists its fields bare,
 * as the provider params are named). JSON allows all of these, so a request can carry them:
 * they are the caller's to fix, not a server fault.
 */
export function unstorableValues(value: unknown, path: string, level = 1): FieldIssue[] {
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    const storable = value === 0 || (magnitude >= MIN_STORABLE_MAGNITUDE && magnitude <= Number.MAX_SAFE_INTEGER);
    return storable ? [] : [{ field: path, message: NUMBER_RANGE_MESSAGE }];
  }
  if (typeof value !== 'object' || value === null) return [];
  if (level >= MAX_NESTING_LEVELS) return [{ field: path, message: NESTING_MESSAGE }];
  if (Array.isArray(value)) return value.flatMap((inner, index) => unstorableValues(inner, `${path}[${index}]`, level + 1));
  return Object.entries(value).flatMap(([key, inner]) => {
    if (key === '') return [{ field: path, message: 'must not use an empty string as a key' }];
    if (key === PROTOTYPE_KEY) return [{ field: path, message: `must not use "${PROTOTYPE_KEY}" as a key` }];
    return unstorableValues(inner, path === '' ? key : `${path}.${key}`, level + 1);
  });
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The size DynamoDB counts for a value (its developer guide's rules): strings by UTF-8
 * bytes, numbers one byte per two significant digits plus one, null and booleans one byte,
 * lists and maps 3 bytes plus one per element plus the elements (a map's keys included).
 */
export function storedSizeBytes(value: unknown): number {
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') {
    const digits = Math.abs(value).toExponential().split('e')[0]!.replace('.', '').length;
    return Math.ceil(digits / 2) + 1;
  }
  if (typeof value !== 'object' || value === null) return 1;
  const elements: Array<[string, unknown]> = Array.isArray(value) ? value.map((inner) => ['', inner]) : Object.entries(value);
  return elements.reduce((size, [key, inner]) => (inner === undefined ? size : size + 1 + utf8Bytes(key) + storedSizeBytes(inner)), 3);
}

/** The size DynamoDB counts for an item: each attribute's name and value (undefined ones are not written). */
export function itemSizeBytes(item: object): number {
  return Object.entries(item).reduce((size, [name, value]) => (value === undefined ? size : size + utf8Bytes(name) + storedSizeBytes(value)), 0);
}
