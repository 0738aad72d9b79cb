/**
 * API keys: who may call the API, which tenant a generation belongs to, and the
 * `whsec_` secret its webhooks are signed with.
 *
 * Only a SHA-256 hash of a key is stored. Two items per key: `APIKEY#<hash>` answers
 * "who is this bearer?", `KEYID#<id>` answers "what is this tenant's webhook secret?".
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newId } from './ids.js';

export interface ApiKeyRecord {
  key_id: string;
  name: string;
  webhook_secret: string;
  created_at: string;
  revoked_at: string | null;
}

export interface IssuedApiKey {
  key_id: string;
  api_key: string;
  webhook_secret: string;
}

export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');

export const newApiKeySecret = (): string => `rk_${randomBytes(24).toString('base64url')}`;

/** Standard Webhooks secret format: `whsec_` + base64 of the HMAC key. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

export function isWebhookSecret(value: string): boolean {
  return /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(value);
}

export class ApiKeyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores a key (idempotently: the same key and secret may be registered again, as
   * `reelhook dev` does at every start with REELHOOK_API_KEY).
   */
  async register(apiKey: string, webhookSecret: string, name: string, at = new Date().toISOString()): Promise<IssuedApiKey> {
    const hash = hashApiKey(apiKey);
    const existing = await this.findByHash(hash);
    const keyId = existing?.key_id ?? newId('key');
    const record: ApiKeyRecord = {
      key_id: keyId,
      name,
      webhook_secret: webhookSecret,
      created_at: existing?.created_at ?? at,
      revoked_at: null,
    };
    // The id item first: a crash between the writes leaves an unusable key, never a key without a secret.
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: `KEYID#${keyId}`, key_hash: hash, ...record } }));
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: `APIKEY#${hash}`, ...record } }));
    return { key_id: keyId, api_key: apiKey, webhook_secret: webhookSecret };
  }

  /** The active key for a bearer token, or null (unknown or revoked). */
  async authenticate(apiKey: string): Promise<ApiKeyRecord | null> {
    const record = await this.findByHash(hashApiKey(apiKey));
    return record && !record.revoked_at ? record : null;
  }

  async getById(keyId: string): Promise<ApiKeyRecord | null> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `KEYID#${keyId}` } }));
    return (Item as ApiKeyRecord | undefined) ?? null;
  }

  private async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `APIKEY#${hash}` } }));
    return (Item as ApiKeyRecord | undefined) ?? null;
  }
}
