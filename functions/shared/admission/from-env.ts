/**
 * The admission pieces as the functions use them: the semaphore, the waiter queue and
 * Step Functions' SendTaskSuccess, configured from the environment, plus the snapshot
 * the API shows and the metrics sample.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { recordAdmissionGauges, traceClient } from '#shared/runtime/observability.js';
import { Admission } from './admission.js';
import { configuredLimitFromEnv, ProviderSlots } from './provider-slots.js';
import { StepFunctionsTaskResumer } from './task-resumer.js';
import { WaiterQueue } from './waiters.js';

export interface AdmissionParts {
  admission: Admission;
  slots: ProviderSlots;
  waiters: WaiterQueue;
}

export function admissionFromEnv(db: DynamoDBDocumentClient, tableName: string, env: NodeJS.ProcessEnv = process.env): AdmissionParts {
  const slots = new ProviderSlots(db, tableName, { configuredLimit: configuredLimitFromEnv(env) });
  const waiters = new WaiterQueue(db, tableName);
  const admission = new Admission(slots, waiters, new StepFunctionsTaskResumer(traceClient(new SFNClient({}))));
  return { admission, slots, waiters };
}

/** The provider queue as `GET /v2/provider/capacity` shows it (docs/api.md). */
export interface CapacitySnapshot {
  limit: number;
  adaptive: boolean;
  in_use: number;
  queued: number;
  oldest_queued_since: string | null;
  paused_until: string | null;
  rate_limited: number;
}

export async function capacitySnapshot({ slots, waiters }: Pick<AdmissionParts, 'slots' | 'waiters'>, now = Date.now()): Promise<CapacitySnapshot> {
  const [state, depth] = await Promise.all([slots.state(), waiters.depth()]);
  return {
    limit: state.limit,
    adaptive: state.adaptive,
    in_use: state.held,
    queued: depth.waiting,
    oldest_queued_since: depth.oldestSince,
    paused_until: state.pausedUntil > now ? new Date(state.pausedUntil).toISOString() : null,
    rate_limited: state.rejections,
  };
}

/** Samples the gauges; a failed sample never fails the step. */
export async function sampleAdmissionGauges(parts: Pick<AdmissionParts, 'slots' | 'waiters'>): Promise<void> {
  if (!process.env.AWS_LAMBDA_FUNCTION_NAME) return;
  try {
    const snapshot = await capacitySnapshot(parts);
    recordAdmissionGauges({
      inUse: snapshot.in_use,
      limit: snapshot.limit,
      queued: snapshot.queued,
      oldestQueuedSeconds: snapshot.oldest_queued_since === null ? 0 : (Date.now() - Date.parse(snapshot.oldest_queued_since)) / 1000,
    });
  } catch {
    // Metrics are best effort.
  }
}
