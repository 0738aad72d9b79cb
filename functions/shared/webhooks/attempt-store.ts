/**
 * The two writes of one webhook attempt (docs/webhooks.md, "Attempts in the record"):
 *
 * 1. {@link DeliveryAttemptStore.begin}, before the request is sent: counts the attempt and
 *    logs its start, on condition that the delivery is still pending at the count the run
 *    read. A run that crashes after sending has therefore already counted what the
 *    receiver saw, and two runs never make the same attempt.
 * 2. {@link DeliveryAttemptStore.finish}, with the answer: completes the attempt's own log
 *    entry and settles the delivery, unless a later attempt has begun meanwhile (then that
 *    attempt's result decides; a 2xx always settles it as delivered).
 *
 * The log is a map keyed by attempt number, so each attempt writes only its own entry.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#shared/records/dynamo.js';
import { TimelineKey } from '#shared/facts.js';
import { generationKey, MAX_LOGGED_ATTEMPTS, type AttemptEntry, type CallbackState, type DeliverySlot } from '#shared/records/record.js';

export interface AttemptTarget {
  generationId: string;
  webhookId: string;
  slot: DeliverySlot;
}

export interface AttemptOutcome {
  /** The delivery's state after this attempt, as the retry decision has it. */
  state: Exclude<CallbackState, 'none'>;
  /** When the schedule tries again; null unless `state` is pending. */
  nextAttemptAt: string | null;
  /** When the result arrived. */
  at: string;
}

export class DeliveryAttemptStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Counts `entry.attempt` and logs its start; false when the delivery is no longer pending
   * at `entry.attempt - 1` attempts (another run began an attempt, or it settled).
   * `hasLog` is false for a record written before attempt logs existed: the log is created whole.
   */
  async begin(target: AttemptTarget, entry: AttemptEntry, hasLog: boolean): Promise<boolean> {
    const key = String(entry.attempt);
    const dropped = entry.attempt - MAX_LOGGED_ATTEMPTS;
    const names: Record<string, string> = { ...pendingNames(target.slot), '#log': 'attempt_log', '#attempts': 'attempts', '#next': 'next_attempt_at' };
    const values: Record<string, unknown> = { ...pendingValues(target), ':n': entry.attempt, ':prev': entry.attempt - 1, ':null': null, ':at': entry.at };
    const slot = slotPath(target.slot);
    const sets = [`${slot}.#attempts = :n`, `${slot}.#next = :null`, 'updated_at = :at'];
    let remove = '';
    if (hasLog) {
      names['#key'] = key;
      values[':entry'] = entry;
      sets.push(`${slot}.#log.#key = :entry`);
      if (dropped > 0) {
        names['#dropped'] = String(dropped);
        remove = ` REMOVE ${slot}.#log.#dropped`;
      }
    } else {
      values[':entry'] = { [key]: entry };
      sets.push(`${slot}.#log = :entry`);
    }
    return this.update(target, {
      UpdateExpression: `SET ${sets.join(', ')}${remove}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ConditionExpression: `${pendingCondition(slot)} AND ${slot}.#attempts = :prev`,
    });
  }

  /**
   * Records the result of `entry.attempt`. Returns whether it settled the delivery; when a
   * later attempt had begun (or the delivery settled) only the log entry is written.
   */
  async finish(target: AttemptTarget, entry: AttemptEntry, outcome: AttemptOutcome): Promise<boolean> {
    const slot = slotPath(target.slot);
    const names: Record<string, string> = { ...pendingNames(target.slot), '#log': 'attempt_log', '#key': String(entry.attempt) };
    const values: Record<string, unknown> = { ...pendingValues(target), ':entry': entry, ':at': outcome.at };
    const ownEntry = `attribute_exists(${slot}.#log.#key)`;
    const settled = await this.update(target, {
      UpdateExpression:
        `SET ${slot}.#log.#key = :entry, ${slot}.#state = :state, ${slot}.#code = :code, ${slot}.#last = :at, ${slot}.#next = :next, updated_at = :at` +
        (outcome.state === 'delivered' && target.slot === 'callback' ? ', #timeline.#notified = :at' : ''),
      ExpressionAttributeNames: {
        ...names,
        '#code': 'last_status_code',
        '#last': 'last_attempt_at',
        '#next': 'next_attempt_at',
        ...(outcome.state === 'delivered' && target.slot === 'callback' ? { '#timeline': 'timeline', '#notified': TimelineKey.Notified } : {}),
        ...(outcome.state === 'delivered' ? {} : { '#attempts': 'attempts' }),
      },
      ExpressionAttributeValues: {
        ...values,
        ':state': outcome.state,
        ':code': entry.status_code,
        ':next': outcome.nextAttemptAt,
        ...(outcome.state === 'delivered' ? {} : { ':n': entry.attempt }),
      },
      // A 2xx is final whichever attempt got it; any other answer counts only if it is the latest attempt's.
      ConditionExpression: `${pendingCondition(slot)} AND ${ownEntry}${outcome.state === 'delivered' ? '' : ` AND ${slot}.#attempts = :n`}`,
    });
    if (settled) return true;
    await this.update(target, {
      UpdateExpression: `SET ${slot}.#log.#key = :entry, updated_at = :at`,
      ExpressionAttributeNames: { ...slotNames(target.slot), '#log': 'attempt_log', '#key': String(entry.attempt), '#webhookId': 'webhook_id' },
      ExpressionAttributeValues: { ':entry': entry, ':at': outcome.at, ':webhookId': target.webhookId },
      ConditionExpression: `${slot}.#webhookId = :webhookId AND ${ownEntry}`,
    });
    return false;
  }

  private async update(
    target: AttemptTarget,
    expression: { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, unknown>; ConditionExpression: string },
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: generationKey(target.generationId) },
          ...expression,
          ConditionExpression: `attribute_exists(pk) AND ${expression.ConditionExpression}`,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

const slotNames = (slot: DeliverySlot): Record<string, string> =>
  slot === 'callback' ? { '#cb': 'callback' } : { '#cb': 'callback', '#sup': 'superseded' };

/** The names and values of {@link pendingCondition}. DynamoDB refuses unused ones, so each write adds them only when it uses them. */
const pendingNames = (slot: DeliverySlot): Record<string, string> => ({ ...slotNames(slot), '#webhookId': 'webhook_id', '#state': 'state' });
const pendingValues = (target: AttemptTarget): Record<string, unknown> => ({ ':webhookId': target.webhookId, ':pending': 'pending' });

const slotPath = (slot: DeliverySlot): string => (slot === 'callback' ? '#cb' : '#cb.#sup');

const pendingCondition = (slot: string): string => `${slot}.#webhookId = :webhookId AND ${slot}.#state = :pending`;
