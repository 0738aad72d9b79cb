/**
 * API keys: who may call the API, which tenant a generation belongs to, and the
 * `whsec_` secret its webhooks are signed with.
 *
 * Only a SHA-256 hash of a key is stored. Two items per key: `KEYID#<id>` is the key
 * (name, webhook secret, revocation; listed through the by-owner index under
 * `APIKEYS`), and `APIKEY#<hash>` points from a bearer token's hash to that id. Every
 * change of a key writes the one `KEYID#` item, so a secret is never stored twice. The
 * pointer is written once and never changes, so a store remembers it and authenticates a
 * token it has seen with one read: of the `KEYID#` item, where revocation is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { newId } from '#shared/records/ids.js';
import { TableLayout } from '#shared/records/table-layout.js';

export interface ApiKeyRecord {
  key_id: string;
  name: string;
  webhook_secret: string;
  /** The secret before the last rotation: webhooks are signed with it too until it expires. */
  previous_webhook_secret: string | null;
  previous_webhook_secret_expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** What `keys list` shows: never a secret. */
export type ApiKeySummary = Pick<ApiKeyRecord, 'key_id' | 'name' | 'created_at' | 'revoked_at'>;

export interface IssuedApiKey {
  key_id: string;
  api_key: string;
  webhook_secret: string;
}

export interface RotatedWebhookSecret {
  key_id: string;
  webhook_secret: string;
  previous_webhook_secret_expires_at: string;
}

/** How long the secret replaced by a rotation keeps signing webhooks. */
const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Owner-index partition of the key items, so keys are listed with a Query, never a Scan. */
const KEY_INDEX_PARTITION = 'APIKEYS';

export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');

export const newApiKeySecret = (): string => `rk_${randomBytes(24).toString('base64url')}`;

/** What {@link newApiKeySecret} makes: `rk_` + 24 random bytes in base64url (32 characters). */
export function isApiKeySecret(value: string): boolean {
  return /^rk_[A-Za-z0-9_-]{32}$/.test(value);
}

/** Standard Webhooks secret format: `whsec_` + base64 of the HMAC key. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;


/** Registering a key that was revoked: revocation is final, nothing may bring the key back. */
export class RevokedApiKeyError extends Error {
  override readonly name = 'RevokedApiKeyError';
  constructor(
    readonly keyId: string,
    readonly revokedAt: string,
    options?: ErrorOptions,
  ) {
    super(`API key ${keyId} was revoked at ${revokedAt}`, options);
  }
}

/** Pointers a store remembers; past this the oldest is dropped (and read again when next needed). */
const REMEMBERED_POINTERS = 10_000;

const keyIdKey = (keyId: string): string => `KEYID#${keyId}`;
const hashKey = (hash: string): string => `APIKEY#${hash}`;

export class ApiKeyStore {
  /** Token hash → key id, for pointers read from the table: only found ones, so a key made later works at once. */
  private readonly keyIdByHash = new Map<string, string>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Makes a new key and its webhook secret; the caller shows both once. */
  async issue(name: string, at = new Date().toISOString()): Promise<IssuedApiKey> {
    const apiKey = newApiKeySecret();
    const webhookSecret = newWebhookSecret();
    const keyId = await this.put(hashApiKey(apiKey), { name, webhookSecret, at });
    return { key_id: keyId, api_key: apiKey, webhook_secret: webhookSecret };
  }

  /**
   * Makes sure a key its holder chose (`reelhook dev`'s REELHOOK_API_KEY, or the key dev
   * saved in its data folder) exists, at every start. A new key gets `name` and
   * `webhookSecret` ?? `secretIfNew` ?? a fresh secret. An existing key keeps its name
   * and secret (`keys create` may have made it, `keys rotate-secret` changed it): only an
   * explicit `webhookSecret` replaces the secret. A revoked key stays revoked: this
   * throws {@link RevokedApiKeyError} instead of registering it.
   */
  async register(
    apiKey: string,
    options: { name: string; webhookSecret?: string; secretIfNew?: string },
    at = new Date().toISOString(),
  ): Promise<IssuedApiKey> {
    const hash = hashApiKey(apiKey);
    const existing = await this.findByHash(hash);
    if (!existing) {
      const webhookSecret = options.webhookSecret ?? options.secretIfNew ?? newWebhookSecret();
      const keyId = await this.put(hash, { name: options.name, webhookSecret, at });
      return { key_id: keyId, api_key: apiKey, webhook_secret: webhookSecret };
    }
    if (existing.revoked_at) throw new RevokedApiKeyError(existing.key_id, existing.revoked_at);
    const webhookSecret = options.webhookSecret ?? existing.webhook_secret;
    if (webhookSecret !== existing.webhook_secret) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: keyIdKey(existing.key_id) },
            UpdateExpression: 'SET webhook_secret = :secret',
            // Only the secret is written, and only while the key is active: a revocation racing this start wins.
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR revoked_at = :none)',
            ExpressionAttributeValues: { ':secret': webhookSecret, ':none': null },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const now = await this.getById(existing.key_id);
        throw new RevokedApiKeyError(existing.key_id, now?.revoked_at ?? at, { cause: error });
      }
    }
    return { key_id: existing.key_id, api_key: apiKey, webhook_secret: webhookSecret };
  }

  /** The active key for a bearer token, or null (unknown or revoked). */
  async authenticate(apiKey: string): Promise<ApiKeyRecord | null> {
    const record = await this.findByHash(hashApiKey(apiKey));
    return record && !record.revoked_at ? record : null;
  }

  async getById(keyId: string): Promise<ApiKeyRecord | null> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keyIdKey(keyId) }, ConsistentRead: true }),
    );
    return Item ? toRecord(Item) : null;
  }

  /** Every key, oldest first, without secrets. */
  async list(): Promise<ApiKeySummary[]> {
    const keys: ApiKeySummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TableLayout.ownerIndex.name,
          KeyConditionExpression: '#ip = :keys',
          ExpressionAttributeNames: { '#ip': TableLayout.ownerIndex.partitionKey, '#name': 'name' },
          ExpressionAttributeValues: { ':keys': KEY_INDEX_PARTITION },
          // Secrets stay in the table: only what a listing shows is read.
          ProjectionExpression: 'key_id, #name, created_at, revoked_at',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        keys.push({
          key_id: String(item.key_id),
          name: String(item.name),
          created_at: String(item.created_at),
          revoked_at: typeof item.revoked_at === 'string' ? item.revoked_at : null,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  /** Revokes a key (its first revocation time is kept); null when there is no such key. */
  async revoke(keyId: string, at = new Date().toISOString()): Promise<ApiKeySummary | null> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keyIdKey(keyId) },
          UpdateExpression: 'SET revoked_at = :at',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR revoked_at = :none)',
          ExpressionAttributeValues: { ':at': at, ':none': null },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return summaryOf(toRecord(Attributes ?? {}));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.getById(keyId);
      return existing ? summaryOf(existing) : null;
    }
  }

  /**
   * Issues a new webhook secret. The replaced one keeps signing (alongside the new one)
   * for {@link PREVIOUS_SECRET_VALIDITY_MS}, so receivers can switch without losing a
   * webhook. Null when there is no such key; throws for a revoked key.
   */
  async rotateWebhookSecret(keyId: string, now = new Date()): Promise<RotatedWebhookSecret | null> {
    const current = await this.getById(keyId);
    if (!current) return null;
    if (current.revoked_at) throw new Error(`key ${keyId} is revoked`);
    const webhookSecret = newWebhookSecret();
    const previousExpiresAt = new Date(now.getTime() + PREVIOUS_SECRET_VALIDITY_MS).toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keyIdKey(keyId) },
          UpdateExpression: 'SET webhook_secret = :new, previous_webhook_secret = :old, previous_webhook_secret_expires_at = :expires',
          // Two concurrent rotations: the loser must not record the winner's fresh secret as "previous".
          ConditionExpression: 'webhook_secret = :old',
          ExpressionAttributeValues: { ':new': webhookSecret, ':old': current.webhook_secret, ':expires': previousExpiresAt },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new Error(`key ${keyId} was rotated concurrently; try again`, { cause: error });
      throw error;
    }
    return { key_id: keyId, webhook_secret: webhookSecret, previous_webhook_secret_expires_at: previousExpiresAt };
  }

  /** Writes a new key: its `KEYID#` item, then the `APIKEY#` pointer to it. */
  private async put(hash: string, key: { name: string; webhookSecret: string; at: string }): Promise<string> {
    const keyId = newId('key');
    const record: ApiKeyRecord = {
      key_id: keyId,
      name: key.name,
      webhook_secret: key.webhookSecret,
      previous_webhook_secret: null,
      previous_webhook_secret_expires_at: null,
      created_at: key.at,
      revoked_at: null,
    };
    const [indexPartition, indexSort] = [TableLayout.ownerIndex.partitionKey, TableLayout.ownerIndex.sortKey];
    // The key item first: a crash between the writes leaves an unusable key, never a bearer without a key.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keyIdKey(keyId), key_hash: hash, ...record, [indexPartition]: KEY_INDEX_PARTITION, [indexSort]: `${key.at}#${keyId}` },
      }),
    );
    // Written once: stores that remember the pointer rely on it never naming another key.
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: hashKey(hash), key_id: keyId }, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return keyId;
  }

  private async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const keyId = this.keyIdByHash.get(hash) ?? (await this.readPointer(hash));
    return keyId === null ? null : this.getById(keyId);
  }

  private async readPointer(hash: string): Promise<string | null> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: hashKey(hash) }, ConsistentRead: true }));
    if (typeof Item?.key_id !== 'string') return null;
    if (this.keyIdByHash.size >= REMEMBERED_POINTERS) this.keyIdByHash.delete(this.keyIdByHash.keys().next().value!);
    this.keyIdByHash.set(hash, Item.key_id);
    return Item.key_id;
  }
}

/** The stored item without its table bookkeeping (pk, hash, index keys). */
function toRecord(item: Record<string, unknown>): ApiKeyRecord {
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    key_id: String(item.key_id),
    name: String(item.name),
    webhook_secret: String(item.webhook_secret),
    previous_webhook_secret: text(item.previous_webhook_secret),
    previous_webhook_secret_expires_at: text(item.previous_webhook_secret_expires_at),
    created_at: String(item.created_at),
    revoked_at: text(item.revoked_at),
  };
}

const summaryOf = (record: ApiKeyRecord): ApiKeySummary => ({
  key_id: record.key_id,
  name: record.name,
  created_at: record.created_at,
  revoked_at: record.revoked_at,
});
