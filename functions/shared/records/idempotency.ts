/**
 * `Idempotency-Key` (docs/api.md): the same key with the same body from the same
 * API key within 24 h names the same generation; a different body is a conflict.
 *
 * A request claims `IDEM#<key id>#<sha256(idempotency key)>` with one conditional put
 * holding the body's hash and the generation id chosen before the claim. The winner
 * and every later request with the same body then act on that one id, and creating
 * a generation under a given id is itself idempotent (conditional record write,
 * execution named by the id), so no race and no crash between the claim and the
 * start can make a second provider job or leave the key pointing at nothing.
 * DynamoDB's TTL removes expired claims eventually (dynalite never): an expired claim
 * counts as absent and is overwritten, conditionally.
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { ValidationError } from '#shared/errors.js';
import { TableLayout } from '#shared/records/table-layout.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;

export interface IdempotencyClaim {
  generation_id: string;
  body_hash: string;
}

/** Throws a ValidationError naming the header unless the key is 1..255 characters. */
export function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw new ValidationError([{ field: IDEMPOTENCY_HEADER, message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters` }]);
  }
}

/** JSON with object keys sorted at every level, so key order never makes two bodies differ. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const bodyHash = (body: unknown): string => createHash('sha256').update(canonicalJson(body)).digest('hex');

const claimKey = (ownerKeyId: string, idempotencyKey: string): string =>
  `IDEM#${ownerKeyId}#${createHash('sha256').update(idempotencyKey).digest('hex')}`;

/** Claims that can be overwritten while an expired one is read back: a few rounds settle any race. */
const MAX_CLAIM_ROUNDS = 3;

export class IdempotencyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Claims the key for `wanted`, or returns the claim that holds it (which may carry
   * another body hash: the caller answers 409 then).
   */
  async claim(ownerKeyId: string, idempotencyKey: string, wanted: IdempotencyClaim, now = Date.now()): Promise<IdempotencyClaim> {
    const pk = claimKey(ownerKeyId, idempotencyKey);
    const nowSeconds = Math.floor(now / 1000);
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { pk, ...wanted, created_at: new Date(now).toISOString(), [TableLayout.ttlAttribute]: nowSeconds + IDEMPOTENCY_WINDOW_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk) OR #expires <= :now',
            ExpressionAttributeNames: { '#expires': TableLayout.ttlAttribute },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return wanted;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }));
      const live = Item && Number(Item[TableLayout.ttlAttribute]) > nowSeconds;
      if (live) return { generation_id: String(Item.generation_id), body_hash: String(Item.body_hash) };
      // Expired (or removed) between the put and the read: claim again.
    }
    throw new Error(`could not settle the claim of an idempotency key after ${MAX_CLAIM_ROUNDS} rounds`);
  }
}
