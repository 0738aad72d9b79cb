/**
 * Generation records in DynamoDB.
 *
 * Every transition is a single-item conditional write on the current status, so a
 * state never goes backwards (a late poll cannot overwrite `completed`) and a step
 * re-run after a crash is a no-op instead of a second effect. A write whose condition
 * fails returns null: the caller re-reads and carries on from what is recorded.
 *
 * A record past its `expires_at` reads as absent: DynamoDB's TTL deletes it only
 * eventually (and dynalite never), and a caller must not see it meanwhile.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { asDocument, isConditionFailure, setExpression } from '#shared/records/dynamo.js';
import { ValidationError } from '#shared/errors.js';
import { itemSizeBytes, MAX_ITEM_BYTES, storedSizeBytes } from '#shared/records/storable.js';
import { TableLayout } from '#shared/records/table-layout.js';
import { generationKey, ownerIndexKey, type CallbackInfo, type DeliverySlot, type GenerationItem, type GenerationStatus, type QueueInfo, type StoredVideo } from '#shared/records/record.js';
import { TimelineKey } from '#shared/facts.js';

export class GenerationStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Writes a new record. Its values were checked when the request was parsed
   * (#shared/generations/request.js); throws ValidationError, naming the caller's largest
   * field, if the record as a whole is over DynamoDB's item size limit.
   */
  async create(item: GenerationItem): Promise<void> {
    const size = itemSizeBytes(item);
    if (size > MAX_ITEM_BYTES) {
      throw new ValidationError([{ field: largestCallerField(item), message: `makes a record of ${size} bytes; DynamoDB stores at most ${MAX_ITEM_BYTES}` }]);
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...item, metadata: asDocument(item.metadata) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Deletes the record while it is still `queued`, for a request that created it and then
   * could not start its execution; returns false when it has moved on (or is gone).
   */
  async deleteQueued(id: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: generationKey(id) },
          ConditionExpression: 'attribute_exists(pk) AND #st = :queued',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':queued': 'queued' satisfies GenerationStatus },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<GenerationItem | null> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: generationKey(id) }, ConsistentRead: true }),
    );
    const item = Item as GenerationItem | undefined;
    return item && !isExpired(item, epochSeconds()) ? item : null;
  }

  /**
   * A tenant's generations, newest first, from the owner index. It reads until one item
   * past the page is found (or the index ends), so `lastKey` is null exactly when nothing
   * follows; otherwise it is the key of the page's last item, the resume point.
   */
  async listByOwner(
    owner: string,
    options: { limit: number; startKey?: Record<string, unknown>; status?: GenerationStatus },
  ): Promise<{ items: GenerationItem[]; lastKey: Record<string, unknown> | null }> {
    const items: GenerationItem[] = [];
    const live = '(attribute_not_exists(#expires) OR #expires > :now)';
    let startKey = options.startKey;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TableLayout.ownerIndex.name,
          KeyConditionExpression: 'gsi1pk = :owner',
          FilterExpression: options.status ? `#st = :status AND ${live}` : live,
          ExpressionAttributeNames: { '#expires': TableLayout.ttlAttribute, ...(options.status ? { '#st': 'status' } : {}) },
          ExpressionAttributeValues: {
            ':owner': ownerIndexKey(owner),
            ':now': epochSeconds(),
            ...(options.status ? { ':status': options.status } : {}),
          },
          ScanIndexForward: false,
          // One more than the page: finding it is how we know another page exists.
          Limit: options.limit + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((page.Items ?? []) as GenerationItem[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length <= options.limit);
    if (items.length <= options.limit) return { items, lastKey: null };
    const page = items.slice(0, options.limit);
    return { items: page, lastKey: indexKeyOf(page[page.length - 1]!) };
  }

  /** The generation waits for a provider slot (shown as `queue` while it is `queued`). */
  markQueued(id: string, queue: QueueInfo): Promise<GenerationItem | null> {
    return this.transition(id, ['queued'], { queue, updated_at: new Date().toISOString() });
  }

  /**
   * A create request is about to be sent. Returns the record as it was before, so the
   * caller sees whether an earlier request was cut off (its `submitting_since` is set).
   */
  async markSubmitting(id: string, at: string): Promise<GenerationItem | null> {
    const update = setExpression({ submitting_since: at, updated_at: at }, { ':queued': 'queued' });
    return this.conditionalUpdate(id, update, '#st = :queued', { '#st': 'status' }, 'ALL_OLD');
  }

  /** The create request got an answer that made no job (a 429): nothing was cut off. */
  clearSubmitting(id: string, queue: QueueInfo): Promise<GenerationItem | null> {
    return this.transition(id, ['queued'], { submitting_since: null, queue, updated_at: new Date().toISOString() });
  }

  /** A create was sent again after one that was cut off: the record says so. */
  markSubmissionRepeated(id: string, at: string): Promise<GenerationItem | null> {
    return this.transition(id, ['queued'], { [`timeline.${TimelineKey.SubmissionRepeated}`]: at });
  }

  /** The provider accepted the job: its id is stored the moment it is known. */
  markProviderAccepted(id: string, providerId: string, providerStatus: string, at: string): Promise<GenerationItem | null> {
    return this.transition(id, ['queued'], {
      status: 'generating',
      queue: null,
      submitting_since: null,
      provider: { generation_id: providerId, status: providerStatus },
      [`timeline.${TimelineKey.ProviderAccepted}`]: at,
      updated_at: at,
    });
  }

  /**
   * A status check's answer, while the generation is `generating`. Returns the record as
   * it was before (the check needs nothing else from it: its deadline, model and timeline
   * do not change while the provider works), or null when it is not `generating`.
   */
  recordPoll(
    id: string,
    poll: { providerStatus: string; polls: number; videoUrl: string | null; creditsUsed: number | null },
    at: string,
  ): Promise<GenerationItem | null> {
    const fields: Record<string, unknown> = {
      'provider.status': poll.providerStatus,
      polls: poll.polls,
      updated_at: at,
    };
    if (poll.videoUrl) {
      fields.provider_video_url = poll.videoUrl;
      fields[`timeline.${TimelineKey.ProviderDone}`] = at;
    }
    if (poll.creditsUsed !== null) fields.meta = { usage: { credits_used: poll.creditsUsed } };
    return this.transition(id, ['generating'], fields, 'ALL_OLD');
  }

  /** `completed` only once our copy is in S3 (docs/api.md). */
  markCompleted(id: string, video: StoredVideo, callback: CallbackInfo, at: string): Promise<GenerationItem | null> {
    return this.transition(id, ['generating'], {
      status: 'completed',
      video,
      callback,
      completed_at: at,
      [`timeline.${TimelineKey.Completed}`]: at,
      updated_at: at,
    });
  }

  markFailed(
    id: string,
    error: { name: string; message: string },
    callback: CallbackInfo,
    at: string,
  ): Promise<GenerationItem | null> {
    return this.transition(id, ['queued', 'generating'], {
      status: 'error',
      error,
      callback,
      completed_at: at,
      [`timeline.${TimelineKey.Failed}`]: at,
      updated_at: at,
    });
  }

  /**
   * Makes `callback` the event to deliver, only while the generation is in flight and
   * no event is set yet, so it never replaces a later event nor resets the attempts of
   * its own delivery.
   */
  setCallbackEvent(id: string, callback: CallbackInfo): Promise<GenerationItem | null> {
    const update = setExpression({ callback, updated_at: new Date().toISOString() }, { ':generating': 'generating', ':null': 'NULL' });
    return this.conditionalUpdate(id, update, '#st = :generating AND attribute_type(#cb.#webhookId, :null)', {
      '#st': 'status',
      '#cb': 'callback',
      '#webhookId': 'webhook_id',
    });
  }

  /**
   * Opens the settled (delivered or failed) delivery of event `webhookId` again for one
   * more run, the attempt count carrying on. Null when the record names another event
   * or its delivery is not settled, e.g. a concurrent request reopened it first.
   */
  reopenCallback(id: string, webhookId: string, at: string): Promise<GenerationItem | null> {
    const update = setExpression(
      { 'callback.state': 'pending', updated_at: at },
      { ':webhookId': webhookId, ':delivered': 'delivered', ':failed': 'failed' },
    );
    return this.conditionalUpdate(id, update, '#cb.#webhookId = :webhookId AND #cb.#cbState IN (:delivered, :failed)', {
      '#cb': 'callback',
      '#webhookId': 'webhook_id',
      '#cbState': 'state',
    });
  }

  /**
   * Records one delivery attempt of the event identified by `webhookId`, kept in `slot`
   * (the shown delivery, or a superseded one); an attempt of an event no longer there is ignored.
   */
  async recordCallbackAttempt(
    id: string,
    webhookId: string,
    attempt: Pick<CallbackInfo, 'state' | 'attempts' | 'last_status_code' | 'last_attempt_at'>,
    slot: DeliverySlot = 'callback',
  ): Promise<GenerationItem | null> {
    const update = setExpression(
      {
        [`${slot}.state`]: attempt.state,
        [`${slot}.attempts`]: attempt.attempts,
        [`${slot}.last_status_code`]: attempt.last_status_code,
        [`${slot}.last_attempt_at`]: attempt.last_attempt_at,
        ...(attempt.state === 'delivered' && slot === 'callback' ? { [`timeline.${TimelineKey.Notified}`]: attempt.last_attempt_at } : {}),
        updated_at: attempt.last_attempt_at ?? new Date().toISOString(),
      },
      { ':webhookId': webhookId },
    );
    const condition = slot === 'callback' ? '#cb.webhook_id = :webhookId' : '#cb.superseded.webhook_id = :webhookId';
    return this.conditionalUpdate(id, update, condition, { '#cb': 'callback' });
  }

  private transition(
    id: string,
    from: readonly GenerationStatus[],
    fields: Record<string, unknown>,
    returnValues: 'ALL_NEW' | 'ALL_OLD' = 'ALL_NEW',
  ): Promise<GenerationItem | null> {
    const allowed = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    const update = setExpression(fields, allowed);
    const condition = `#st IN (${Object.keys(allowed).join(', ')})`;
    return this.conditionalUpdate(id, update, condition, { '#st': 'status' }, returnValues);
  }

  private async conditionalUpdate(
    id: string,
    update: ReturnType<typeof setExpression>,
    condition: string,
    extraNames: Record<string, string>,
    returnValues: 'ALL_NEW' | 'ALL_OLD' = 'ALL_NEW',
  ): Promise<GenerationItem | null> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: generationKey(id) },
          ...update,
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...extraNames },
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ReturnValues: returnValues,
        }),
      );
      return Attributes as GenerationItem;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }
}

/** An owner-index item's key (table key plus index key), as DynamoDB's LastEvaluatedKey has it. */
const indexKeyOf = (item: GenerationItem): Record<string, unknown> => ({
  [TableLayout.partitionKey]: item.pk,
  [TableLayout.ownerIndex.partitionKey]: item.gsi1pk,
  [TableLayout.ownerIndex.sortKey]: item.gsi1sk,
});

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** Its `expires_at` (epoch seconds) has come; a record without one is kept. */
const isExpired = (item: GenerationItem, nowSeconds: number): boolean =>
  item.expires_at !== undefined && item.expires_at <= nowSeconds;

/** Which of the caller's fields weighs most in the record: the one to name when it is too large. */
function largestCallerField(item: GenerationItem): string {
  const fields: Array<[string, unknown]> = [
    ['prompt', item.prompt],
    ['negative_prompt', item.params.negative_prompt],
    ['metadata', item.metadata],
    ['callback_url', item.callback.url],
  ];
  return fields.reduce((largest, field) => (storedSizeBytes(field[1]) > storedSizeBytes(largest[1]) ? field : largest))[0];
}
