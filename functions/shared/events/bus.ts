/**
 * Generation events on EventBridge (docs/events.md), for pipelines: `Video Generation
 * Started` when the provider accepts the job, `Video Generation Completed` / `Failed`
 * once the outcome is recorded; source `reelhook`, detail = the public record (what a
 * webhook's `data` holds).
 *
 * Delivery is at least once: a step re-run after a crash publishes its event again, so
 * consumers deduplicate on `detail.id` + `detail-type`. A failed PutEvents throws
 * {@link EventPublishFailed}, which the state machine retries.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { EventPublishFailed } from '#shared/errors.js';
import type { GenerationStatus, PublicGeneration } from '#shared/records/record.js';
import { Env } from '#shared/facts.js';

/**
 * The `source` of every event of reelhook's interface: the ones it publishes (infra allows
 * the functions' PutEvents only under it) and the only one a `Video Generation Requested`
 * may have. The intake rule matches it, the bus's policy lets only the operator's
 * principals put a request under it, and the intake handler refuses any other: an
 * `api_key_id` is not a secret, so who put the event is what is trusted.
 */
export const EVENT_SOURCE = 'reelhook';


export const EventDetailType = {
  Started: 'Video Generation Started',
  Completed: 'Video Generation Completed',
  Failed: 'Video Generation Failed',
  /** Inbound: a pipeline asks for a generation (routed to the intake function). */
  Requested: 'Video Generation Requested',
} as const;
export type EventDetailType = (typeof EventDetailType)[keyof typeof EventDetailType];
export type OutboundDetailType = Exclude<EventDetailType, typeof EventDetailType.Requested>;

/** EVENT_BUS_NAME: the bus events go to (name or ARN). */
export const eventBusName = (): string => getStringFromEnv({ key: Env.EventBusName });

/** The event announcing a generation's terminal status. */
export function outcomeDetailType(status: GenerationStatus): OutboundDetailType {
  if (status === 'completed') return EventDetailType.Completed;
  if (status === 'error') return EventDetailType.Failed;
  throw new Error(`a generation in status ${status} has no outcome event`);
}

/**
 * Publishes generation events to one bus.
 *
 * @example
 * const events = new GenerationEvents(new EventBridgeClient({}), eventBusName());
 * await events.publish(EventDetailType.Completed, toPublicGeneration(item, videoUrl));
 */
export class GenerationEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(detailType: OutboundDetailType, generation: PublicGeneration): Promise<void> {
    let failed: { code?: string; message?: string } | undefined;
    try {
      const result = await this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.busName,
              Source: EVENT_SOURCE,
              DetailType: detailType,
              Detail: JSON.stringify(generation),
              Resources: [],
            },
          ],
        }),
      );
      const entry = result.Entries?.[0];
      if ((result.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
        failed = { code: entry?.ErrorCode, message: entry?.ErrorMessage };
      }
    } catch (error) {
      throw new EventPublishFailed(`PutEvents of "${detailType}" failed: ${(error as Error).message}`, { cause: error });
    }
    if (failed) {
      throw new EventPublishFailed(`EventBridge refused "${detailType}": ${failed.code ?? 'unknown error'} ${failed.message ?? ''}`.trim());
    }
  }
}
