/**
 * The provider account's concurrency semaphore: one item in the table holding who has a
 * slot (`holders`: generation id → lease expiry, epoch seconds), how many (`held`, kept
 * next to the map because a condition cannot count a map's entries everywhere), and the
 * learned limit. Every change is one conditional UpdateItem, so concurrent steps never
 * overshoot the limit and a crash between two writes leaves at worst a lease to expire.
 *
 * The limit is either configured (fixed) or adaptive (AIMD): it starts at
 * `ADAPTIVE_START`, grows by one after `ADAPTIVE_GROWTH_EVERY` creates the provider
 * accepted, and halves on a provider 429 (at most once per cooldown, so one burst of
 * rejections counts as one signal).
 *
 * @example
 * const slots = new ProviderSlots(db, tableName, { configuredLimit: undefined });
 * if (await slots.acquire(generationId, leaseUntil)) { ...create the provider job... }
 * await slots.release(generationId);
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { TableLayout } from '#shared/records/table-layout.js';

export const SLOTS_KEY = 'PROVIDER#slots';
export const ADAPTIVE_START = 4;
export const ADAPTIVE_MAX = 100;
export const ADAPTIVE_GROWTH_EVERY = 5;
/** A burst of 429s within this window halves the limit once. */
export const DECREASE_COOLDOWN_SECONDS = 10;

export interface SlotsOptions {
  /** A fixed limit (construct prop / REELHOOK_PROVIDER_CONCURRENCY); undefined = adaptive. */
  configuredLimit: number | undefined;
  now?: () => number;
}

export interface SlotsState {
  holders: Record<string, number>;
  held: number;
  limit: number;
  adaptive: boolean;
}

interface SlotsItem {
  holders?: Record<string, number>;
  held?: number;
  limit?: number;
  accepted_since_change?: number;
  decreased_at?: number;
}

/** REELHOOK_PROVIDER_CONCURRENCY: a whole number ≥ 1, or unset/empty for adaptive. */
export function configuredLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.REELHOOK_PROVIDER_CONCURRENCY;
  if (raw === undefined || raw === '' || raw === 'adaptive') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError('REELHOOK_PROVIDER_CONCURRENCY must be a whole number of at least 1, or unset for an adaptive limit');
  }
  return value;
}

export class ProviderSlots {
  private readonly now: () => number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: SlotsOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private get key() {
    return { [TableLayout.partitionKey]: SLOTS_KEY };
  }

  /** Creates the item once, so later updates can address `holders.<id>`. */
  private async ensureItem(): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'SET holders = if_not_exists(holders, :empty), held = if_not_exists(held, :zero), #limit = if_not_exists(#limit, :start)',
        ExpressionAttributeNames: { '#limit': 'limit' },
        ExpressionAttributeValues: { ':empty': {}, ':zero': 0, ':start': ADAPTIVE_START },
      }),
    );
  }

  async state(): Promise<SlotsState> {
    const item = await this.read();
    return {
      holders: item.holders ?? {},
      held: item.held ?? 0,
      limit: this.options.configuredLimit ?? item.limit ?? ADAPTIVE_START,
      adaptive: this.options.configuredLimit === undefined,
    };
  }

  private async read(): Promise<SlotsItem> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }));
    return (Item ?? {}) as SlotsItem;
  }

  /**
   * Takes a slot for `generationId` until `leaseUntil` (epoch s) when one is free. True
   * when it holds one (already holding counts: the step may be a re-run). Reclaims
   * expired leases first when the limit is reached.
   */
  async acquire(generationId: string, leaseUntil: number): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (await this.tryAcquire(generationId, leaseUntil)) return true;
      const state = await this.state();
      if (generationId in state.holders) return true;
      if ((await this.reclaimExpired(state)) === 0) return false;
    }
    return false;
  }

  private async tryAcquire(generationId: string, leaseUntil: number): Promise<boolean> {
    const configured = this.options.configuredLimit;
    const values: Record<string, unknown> = { ':lease': leaseUntil, ':one': 1 };
    if (configured !== undefined) values[':limit'] = configured;
    const attempt = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET holders.#g = :lease, held = held + :one',
          ConditionExpression: `attribute_not_exists(holders.#g) AND held < ${configured === undefined ? '#limit' : ':limit'}`,
          ExpressionAttributeNames: { '#g': generationId, ...(configured === undefined ? { '#limit': 'limit' } : {}) },
          ExpressionAttributeValues: values,
        }),
      );
    try {
      await attempt();
      return true;
    } catch (error) {
      if (isConditionFailure(error) || isMissingMap(error)) {
        if (isMissingMap(error) || !(await this.exists())) {
          await this.ensureItem();
          return this.tryAcquire(generationId, leaseUntil);
        }
        return false;
      }
      throw error;
    }
  }

  private async exists(): Promise<boolean> {
    const item = await this.read();
    return item.holders !== undefined && item.held !== undefined;
  }

  /** Gives the slot back; false when `generationId` held none (released already). */
  async release(generationId: string, onlyIfLease?: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'REMOVE holders.#g SET held = held - :one',
          ConditionExpression: onlyIfLease === undefined ? 'attribute_exists(holders.#g)' : 'holders.#g = :lease',
          ExpressionAttributeNames: { '#g': generationId },
          ExpressionAttributeValues: { ':one': 1, ...(onlyIfLease === undefined ? {} : { ':lease': onlyIfLease }) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error) || isMissingMap(error)) return false;
      throw error;
    }
  }

  /** Releases every lease past its expiry; the count released. */
  async reclaimExpired(state?: SlotsState): Promise<number> {
    const { holders } = state ?? (await this.state());
    const nowSeconds = Math.floor(this.now() / 1000);
    let released = 0;
    for (const [generationId, lease] of Object.entries(holders)) {
      // Conditional on the lease seen: a holder that renewed keeps its slot.
      if (lease <= nowSeconds && (await this.release(generationId, lease))) released += 1;
    }
    return released;
  }

  /** The provider accepted a create: additive increase of an adaptive limit. */
  async recordAccepted(): Promise<void> {
    if (this.options.configuredLimit !== undefined) return;
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'ADD accepted_since_change :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = (Attributes ?? {}) as SlotsItem;
    const limit = item.limit ?? ADAPTIVE_START;
    if ((item.accepted_since_change ?? 0) < ADAPTIVE_GROWTH_EVERY || limit >= ADAPTIVE_MAX) return;
    await this.setLimit(limit, limit + 1, {});
  }

  /** The provider answered 429 to a create: multiplicative decrease, once per cooldown. */
  async recordRejected(): Promise<void> {
    if (this.options.configuredLimit !== undefined) return;
    const item = await this.read();
    const nowSeconds = Math.floor(this.now() / 1000);
    if (item.decreased_at !== undefined && nowSeconds - item.decreased_at < DECREASE_COOLDOWN_SECONDS) return;
    const limit = item.limit ?? ADAPTIVE_START;
    await this.setLimit(limit, Math.max(1, Math.floor(limit / 2)), { decreased_at: nowSeconds });
  }

  /** Moves the limit from `from` to `to`; a concurrent change wins (the condition fails quietly). */
  private async setLimit(from: number, to: number, extra: Record<string, number>): Promise<void> {
    const extraSets = Object.keys(extra).map((name, i) => `#x${i} = :x${i}`);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: ['SET #limit = :to', 'accepted_since_change = :zero', ...extraSets].join(', '),
          ConditionExpression: '#limit = :from',
          ExpressionAttributeNames: {
            '#limit': 'limit',
            ...Object.fromEntries(Object.keys(extra).map((name, i) => [`#x${i}`, name])),
          },
          ExpressionAttributeValues: {
            ':to': to,
            ':from': from,
            ':zero': 0,
            ...Object.fromEntries(Object.values(extra).map((value, i) => [`:x${i}`, value])),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

/** DynamoDB's answer to `SET holders.x` when `holders` does not exist yet. */
function isMissingMap(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /document path/i.test(error.message);
}
