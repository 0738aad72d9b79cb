import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered, URL-safe id: 10 chars of milliseconds + 16 random chars (base32),
 * so ids sort by creation and never collide in practice.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  let tail = '';
  for (const byte of random) tail += CROCKFORD[byte % 32];
  return `${prefix}_${time}${tail}`;
}

const ID_BODY = new RegExp(`^[${CROCKFORD}]{26}$`);

/**
 * Whether `value` has the shape newId(prefix) makes. The API checks a caller's id with
 * it first: an id that cannot exist is unknown, and DynamoDB refuses oversized keys.
 */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_BODY.test(value.slice(prefix.length + 1));
}

/** Deterministic per (generation, event), so a re-run step re-sends the same webhook-id. */
export function webhookIdFor(generationId: string, eventType: string): string {
  return `msg_${generationId.replace(/^gen_/, '')}_${eventType.replace(/^generation\./, '')}`;
}
