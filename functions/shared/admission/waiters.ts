/**
 * The generations waiting for a provider slot, fair between API keys: one item per waiter
 * (`WAITER#<generation>`, with its task token), indexed in the by-owner GSI under
 * `QUEUE#<owner>` in arrival order (FIFO within a key), and one directory item listing the
 * keys that have waiters with when each was last served. The next waiter is the oldest of
 * the key served longest ago: round-robin between keys, so one key's burst holds another
 * key's single generation back by at most one turn.
 *
 * Only single-item conditional writes: a waiter is written before its key is listed, and a
 * key is unlisted only when its queue is empty and no registration touched it since it was
 * read (`touched` nonce), so a crash or a race leaves a listed key with no waiter (dropped
 * on the next pass), never a waiter nobody will find.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { TableLayout } from '#shared/records/table-layout.js';

const DIRECTORY_KEY = 'PROVIDER#queues';
/** A hand-over unfinished after this long is taken to have crashed: SendTaskSuccess and one delete take well under a second. */
const HANDOVER_STALE_MS = 60_000;
const waiterKey = (generationId: string) => `WAITER#${generationId}`;
const queueKey = (owner: string) => `QUEUE#${owner}`;

export interface Waiter {
  generation_id: string;
  owner: string;
  /** ISO time it first started waiting (kept when a re-run replaces the token). */
  since: string;
  task_token: string;
  /** Epoch seconds: the lease a slot claimed for it gets, and when the item expires. */
  lease_until: number;
}

/** A waiter as `next` finds it, with its key's last turn (what `takeTurn` moves on). */
export interface NextWaiter extends Waiter {
  turn: number;
}

interface DirectoryItem {
  /** Listed keys (they have waiters) → the stamp of their last turn; the oldest goes next. */
  served?: Record<string, number>;
  /** Every key's last turn, kept when the key is unlisted (not iterated, so idle keys cost nothing). */
  last_served?: Record<string, number>;
  touched?: Record<string, string>;
}

export class WaiterQueue {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds (or, for a re-run of the same wait, re-tokens) a waiter and lists its key.
   * Returns the waiter as stored: `since` is the first registration's.
   */
  async register(generationId: string, owner: string, taskToken: string, expiresAt: number): Promise<Waiter> {
    const existing = await this.get(generationId);
    const since = existing?.since ?? new Date(this.now()).toISOString();
    const waiter: Waiter = { generation_id: generationId, owner, since, task_token: taskToken, lease_until: expiresAt };
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [TableLayout.partitionKey]: waiterKey(generationId),
          [TableLayout.ownerIndex.partitionKey]: queueKey(owner),
          [TableLayout.ownerIndex.sortKey]: `${since}#${generationId}`,
          [TableLayout.ttlAttribute]: expiresAt,
          ...waiter,
        },
      }),
    );
    let directory = await this.directory();
    if (directory.served === undefined || directory.touched === undefined || directory.last_served === undefined) {
      await this.ensureDirectory();
      directory = await this.directory();
    }
    // A key listed again keeps its last turn: one whose queue just emptied does not come
    // back as never served, ahead of keys that have waited.
    const lastTurn = directory.last_served?.[owner] ?? 0;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [TableLayout.partitionKey]: DIRECTORY_KEY },
        UpdateExpression: 'SET served.#o = if_not_exists(served.#o, :last), touched.#o = :nonce',
        ExpressionAttributeNames: { '#o': owner },
        ExpressionAttributeValues: { ':last': lastTurn, ':nonce': randomUUID() },
      }),
    );
    return waiter;
  }

  async get(generationId: string): Promise<Waiter | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { [TableLayout.partitionKey]: waiterKey(generationId) }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toWaiter(Item);
  }

  /**
   * Marks `waiter` as being handed over by the caller, unless another hand-over of the same
   * wait started less than `staleAfterMs` ago (a crashed one is taken over after that).
   * False when someone else is handing it over, or when the wait is gone or re-tokened.
   */
  async startHandover(waiter: Waiter, staleAfterMs = HANDOVER_STALE_MS): Promise<boolean> {
    const now = this.now();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TableLayout.partitionKey]: waiterKey(waiter.generation_id) },
          UpdateExpression: 'SET handover_at = :now',
          ConditionExpression: 'task_token = :token AND (attribute_not_exists(handover_at) OR handover_at < :stale)',
          ExpressionAttributeValues: { ':now': now, ':token': waiter.task_token, ':stale': now - staleAfterMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Removes a waiter (admitted, cancelled, timed out); with `taskToken`, only that wait. */
  async remove(generationId: string, taskToken?: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [TableLayout.partitionKey]: waiterKey(generationId) },
          ConditionExpression: taskToken === undefined ? 'attribute_exists(#pk)' : 'task_token = :token',
          ExpressionAttributeNames: taskToken === undefined ? { '#pk': TableLayout.partitionKey } : undefined,
          ExpressionAttributeValues: taskToken === undefined ? undefined : { ':token': taskToken },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * The waiter to admit next: the oldest of the key served longest ago. Looking uses no
   * turn: the caller spends the key's turn (`takeTurn`) only once it has a slot for the
   * waiter, so asking while every slot is taken never sends a key to the back. The waiter
   * stays stored until the caller removes it (after handing it its slot), so a crash in
   * between loses nobody. Undefined when nobody waits.
   */
  async next(): Promise<NextWaiter | undefined> {
    const directory = await this.directory();
    const owners = Object.entries(directory.served ?? {}).sort(([a, x], [b, y]) => x - y || a.localeCompare(b));
    for (const [owner, served] of owners) {
      const waiter = await this.oldestOf(owner);
      if (waiter === undefined) {
        await this.unlist(owner, directory.touched?.[owner]);
        continue;
      }
      return { ...waiter, turn: served };
    }
    return undefined;
  }

  /** The waiter's key has been served (its waiter got a slot): the other keys go first next. */
  async takeTurn(waiter: NextWaiter): Promise<void> {
    await this.markServed(waiter.owner, waiter.turn);
  }

  /** How many wait and since when the oldest has (for metrics and the API). */
  async depth(): Promise<{ waiting: number; oldestSince: string | null }> {
    const directory = await this.directory();
    let waiting = 0;
    let oldest: string | null = null;
    for (const owner of Object.keys(directory.served ?? {})) {
      const items = await this.queueOf(owner);
      waiting += items.length;
      const first = items[0]?.since;
      if (first !== undefined && (oldest === null || first < oldest)) oldest = first;
    }
    return { waiting, oldestSince: oldest };
  }

  private async oldestOf(owner: string): Promise<Waiter | undefined> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: TableLayout.ownerIndex.name,
        KeyConditionExpression: '#pk = :queue',
        ExpressionAttributeNames: { '#pk': TableLayout.ownerIndex.partitionKey },
        ExpressionAttributeValues: { ':queue': queueKey(owner) },
        Limit: 1,
      }),
    );
    const item = Items?.[0];
    return item === undefined ? undefined : toWaiter(item);
  }

  private async queueOf(owner: string): Promise<Waiter[]> {
    const waiters: Waiter[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TableLayout.ownerIndex.name,
          KeyConditionExpression: '#pk = :queue',
          ExpressionAttributeNames: { '#pk': TableLayout.ownerIndex.partitionKey },
          ExpressionAttributeValues: { ':queue': queueKey(owner) },
          ExclusiveStartKey: start,
        }),
      );
      waiters.push(...(page.Items ?? []).map(toWaiter));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return waiters;
  }

  private async directory(): Promise<DirectoryItem> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { [TableLayout.partitionKey]: DIRECTORY_KEY }, ConsistentRead: true }),
    );
    return (Item ?? {}) as DirectoryItem;
  }

  private async ensureDirectory(): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [TableLayout.partitionKey]: DIRECTORY_KEY },
        UpdateExpression:
          'SET served = if_not_exists(served, :empty), touched = if_not_exists(touched, :empty), last_served = if_not_exists(last_served, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
  }

  /** Turns go by a strictly increasing stamp, so two keys never tie on a fast clock. */
  private async markServed(owner: string, seen: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TableLayout.partitionKey]: DIRECTORY_KEY },
          UpdateExpression: 'SET served.#o = :stamp, last_served.#o = :stamp',
          ConditionExpression: 'served.#o = :seen',
          ExpressionAttributeNames: { '#o': owner },
          ExpressionAttributeValues: { ':stamp': Math.max(this.now(), seen + 1), ':seen': seen },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async unlist(owner: string, touched: string | undefined): Promise<void> {
    if (touched === undefined) return;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [TableLayout.partitionKey]: DIRECTORY_KEY },
          UpdateExpression: 'REMOVE served.#o, touched.#o',
          ConditionExpression: 'touched.#o = :touched',
          ExpressionAttributeNames: { '#o': owner },
          ExpressionAttributeValues: { ':touched': touched },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

function toWaiter(item: Record<string, unknown>): Waiter {
  return {
    generation_id: String(item.generation_id),
    owner: String(item.owner),
    since: String(item.since),
    task_token: String(item.task_token),
    lease_until: Number(item.lease_until),
  };
}
