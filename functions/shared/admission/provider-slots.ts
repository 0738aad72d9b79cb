/**
 * The provider account's concurrency semaphore: one item in the table holding who has a
 * slot (`holders`: generation id → lease expiry, epoch seconds), how many (`held`, kept
 * next to the map because a condition cannot count a map's entries everywhere), and the
 * learned limit. Every change is one conditional UpdateItem, so concurrent steps never
 * overshoot the limit and a crash between two writes leaves at worst a lease to expire.
 *
 * The limit is either configured (fixed) or adaptive: it starts at `ADAPTIVE_START`,
 * grows by one per create the provider accepted while every slot was in use (slow
 * start, until the first 429), then by one per `ADAPTIVE_GROWTH_EVERY` such creates (a
 * probe). A 429 on a create lowers it to the jobs still in flight, since that is what the
 * provider just said it holds: a burst of k rejections beyond the cap lowers it k times,
 * each to the count the provider really has. A 429 also pauses admission until its
 * Retry-After, so nobody else asks the provider before it said to.
 *
 * @example
 * const slots = new ProviderSlots(db, tableName, { configuredLimit: undefined });
 * if (await slots.acquire(generationId, leaseUntil)) { ...create the provider job... }
 * await slots.release(generationId);
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { Env } from '#shared/facts.js';

export const SLOTS_KEY = 'PROVIDER#slots';
export const ADAPTIVE_START = 4;
const ADAPTIVE_MAX = 100;
/** After the first 429, saturated accepts between two probes of one more slot. */
export const ADAPTIVE_GROWTH_EVERY = 20;

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
  /** Epoch ms until which nobody is admitted (the last 429's Retry-After); 0 = not paused. */
  pausedUntil: number;
  /** 429s the provider answered to creates, ever (adaptive or not). */
  rejections: number;
}

interface SlotsItem {
  holders?: Record<string, number>;
  held?: number;
  limit?: number;
  accepted_since_change?: number;
  /** Set at the first 429: slow start is over. */
  decreased_at?: number;
  paused_until?: number;
  rejections?: number;
}

/** REELHOOK_PROVIDER_CONCURRENCY: a whole number ≥ 1, or unset/empty for adaptive. */
export function configuredLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[Env.ProviderConcurrency];
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
      pausedUntil: item.paused_until ?? 0,
      rejections: item.rejections ?? 0,
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
    return (await this.claim(generationId, leaseUntil)) !== 'full';
  }

  /**
   * Like `acquire`, telling apart a slot this call took (`claimed`) from one the
   * generation held already (`held`): two releases handing over at once both find the
   * same waiter, and only the one that claimed its slot may give it back.
   */
  async claim(generationId: string, leaseUntil: number): Promise<'claimed' | 'held' | 'full'> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (await this.tryAcquire(generationId, leaseUntil)) return 'claimed';
      const state = await this.state();
      if (generationId in state.holders) return 'held';
      if ((await this.reclaimExpired(state)) === 0) return 'full';
    }
    return 'full';
  }

  private async tryAcquire(generationId: string, leaseUntil: number): Promise<boolean> {
    const configured = this.options.configuredLimit;
    const values: Record<string, unknown> = { ':lease': leaseUntil, ':one': 1, ':now': this.now() };
    if (configured !== undefined) values[':limit'] = configured;
    const attempt = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET holders.#g = :lease, held = held + :one',
          ConditionExpression:
            `attribute_not_exists(holders.#g) AND held < ${configured === undefined ? '#limit' : ':limit'}` +
            ' AND (attribute_not_exists(paused_until) OR paused_until <= :now)',
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

  /**
   * Holds a slot for a job the provider already runs, even beyond the limit: slots count
   * the jobs truly in flight. Idempotent.
   */
  async hold(generationId: string, leaseUntil: number): Promise<void> {
    if (await this.acquire(generationId, leaseUntil)) return;
    await this.ensureItem();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET holders.#g = :lease, held = held + :one',
          ConditionExpression: 'attribute_not_exists(holders.#g)',
          ExpressionAttributeNames: { '#g': generationId },
          ExpressionAttributeValues: { ':lease': leaseUntil, ':one': 1 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
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

  /**
   * The provider accepted a create. An adaptive limit that was fully used grows (see the
   * module comment); true when it grew, so the caller can admit the next waiter.
   */
  async recordAccepted(): Promise<boolean> {
    if (this.options.configuredLimit !== undefined) return false;
    let item: SlotsItem;
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'ADD accepted_since_change :one',
          // Only a saturated limit learns anything from an accept.
          ConditionExpression: 'held >= #limit',
          ExpressionAttributeNames: { '#limit': 'limit' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = (Attributes ?? {}) as SlotsItem;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    const limit = item.limit ?? ADAPTIVE_START;
    const every = item.decreased_at === undefined ? 1 : ADAPTIVE_GROWTH_EVERY;
    if ((item.accepted_since_change ?? 0) < every || limit >= ADAPTIVE_MAX) return false;
    return this.setLimit(limit, limit + 1, {});
  }

  /**
   * The provider answered 429 to the create of `generationId`: its slot is given back,
   * admission pauses until `retryAfterMs` from now, and an adaptive limit drops to the
   * jobs still in flight. No waiter is admitted here: the pause says not yet, and the
   * generation that met the 429 comes back when it ends and admits the next.
   */
  async recordRejected(generationId: string, retryAfterMs: number): Promise<void> {
    await this.release(generationId);
    const until = this.now() + retryAfterMs;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'SET paused_until = :until ADD rejections :one',
        // A later pause is never shortened by an earlier Retry-After.
        ConditionExpression: 'attribute_not_exists(paused_until) OR paused_until < :until',
        ExpressionAttributeValues: { ':until': until, ':one': 1 },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
      return this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: this.key, UpdateExpression: 'ADD rejections :one', ExpressionAttributeValues: { ':one': 1 } }),
      );
    });
    if (this.options.configuredLimit !== undefined) return;
    const item = await this.read();
    const limit = item.limit ?? ADAPTIVE_START;
    const inFlight = Math.max(1, item.held ?? 0);
    if (inFlight < limit) await this.setLimit(limit, inFlight, { decreased_at: Math.floor(this.now() / 1000) });
  }

  /** Moves the limit from `from` to `to`; a concurrent change wins (the condition fails quietly). */
  private async setLimit(from: number, to: number, extra: Record<string, number>): Promise<boolean> {
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
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }
}

/** DynamoDB's answer to `SET holders.x` when `holders` does not exist yet. */
function isMissingMap(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /document path/i.test(error.message);
}
