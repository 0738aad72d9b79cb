/**
 * The local engine's stand-in for the "Step Functions Execution Status Change" events
 * that reach the release function in AWS: the same event shape, for the same statuses.
 */
import { EXECUTION_STATUS_CHANGE, SLOT_RELEASING_STATUSES } from '#shared/facts.js';
import type { ExecutionDescription } from './stepfunctions/engine.js';
import type { LocalFunction, LocalManifest } from './template/manifest.js';

const RELEASE_ENTRY = 'functions/release/handler.ts';

export function releasesSlot(execution: ExecutionDescription): boolean {
  return SLOT_RELEASING_STATUSES.some((status) => status === execution.status);
}

export function releaseFunction(manifest: LocalManifest): LocalFunction {
  const release = manifest.functions.find((fn) => fn.entry === RELEASE_ENTRY);
  if (!release) throw new Error(`the synthesized template has no function for ${RELEASE_ENTRY}, so stopped runs cannot release their provider slots`);
  return release;
}

/** The event as EventBridge delivers it to a Lambda target (the fields the handler reads, and the usual envelope). */
export function executionStatusChangeEvent(execution: ExecutionDescription): Record<string, unknown> {
  return {
    version: '0',
    id: `${execution.name}-${execution.status}`,
    'detail-type': EXECUTION_STATUS_CHANGE,
    source: 'aws.states',
    time: (execution.stopDate ?? new Date()).toISOString(),
    resources: [execution.executionArn],
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      input: execution.input,
    },
  };
}
