/**
 * Accepting a generation when its execution cannot be started: the record and the
 * idempotency claim in dynalite (the DynamoDB wire protocol, on loopback), Step
 * Functions replaced by a recorder that fails as told.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiKeyRecord } from '#shared/auth/api-keys.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { IdempotencyStore } from '#shared/records/idempotency.js';
import { GenerationAcceptance } from '#shared/generations/acceptance.js';
import { startLocalTable, type LocalTable } from '../support/local-table.js';

const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:reelhook';
const BODY = { model: 'kling-video/v1.6/standard/text-to-video', prompt: 'a raccoon on a skateboard' };

let table: LocalTable;
let store: GenerationStore;
let callers = 0;

beforeAll(async () => {
  table = await startLocalTable('reelhook-acceptance');
  store = new GenerationStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const serviceUnavailable = () => Object.assign(new Error('Step Functions is unavailable'), { name: 'ServiceUnavailable' });

/** An acceptance for a caller of its own, whose Step Functions fails StartExecution or StopExecution while told to. */
function acceptanceWith(failing: { start: boolean; stop: boolean }) {
  const calls: string[] = [];
  const sfn = {
    send: async (command: unknown) => {
      if (command instanceof StartExecutionCommand) {
        calls.push(`start ${command.input.name}`);
        if (failing.start) throw serviceUnavailable();
      }
      if (command instanceof StopExecutionCommand) {
        calls.push(`stop ${command.input.executionArn?.split(':').pop()}`);
        if (failing.stop) throw serviceUnavailable();
        throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
      }
      return {};
    },
  } as unknown as SFNClient;
  const logger = new Logger({ logLevel: 'SILENT' });
  const logError = vi.spyOn(logger, 'error');
  const acceptance = new GenerationAcceptance({
    store,
    idempotency: new IdempotencyStore(table.db, table.tableName),
    sfn,
    s3: {} as S3Client,
    stateMachineArn: STATE_MACHINE,
    recordTtlDays: null,
    logger,
  });
  const caller = { key_id: `key_accept${(callers += 1)}` } as ApiKeyRecord;
  const recordsOfCaller = async () => (await store.listByOwner(caller.key_id, { limit: 10 })).items;
  return { acceptance, caller, calls, recordsOfCaller, logError };
}

describe('GenerationAcceptance when the execution cannot be started', () => {
  it('fails a request without an Idempotency-Key and leaves no queued record behind, after making sure no run of it can start', async () => {
    const { acceptance, caller, calls, recordsOfCaller, logError } = acceptanceWith({ start: true, stop: false });
    await expect(acceptance.accept(caller, BODY)).rejects.toThrow('Step Functions is unavailable');
    expect(await recordsOfCaller()).toEqual([]);
    expect(logError).not.toHaveBeenCalled();
    const [start, stop] = calls;
    expect(start).toMatch(/^start gen_/);
    expect(stop).toBe(`stop ${start?.slice('start '.length)}`);
  });

  it('keeps the record under an Idempotency-Key, and a retry with that key starts it once Step Functions is back', async () => {
    const failing = { start: true, stop: false };
    const { acceptance, caller, calls, recordsOfCaller } = acceptanceWith(failing);
    await expect(acceptance.accept(caller, BODY, 'retry-me')).rejects.toThrow('Step Functions is unavailable');
    const claimedId = calls[0]?.slice('start '.length);
    // Another request holding the same key may have started it; nothing is stopped or deleted.
    expect(calls).toEqual([`start ${claimedId}`]);
    expect((await recordsOfCaller()).map((item) => [item.id, item.status])).toEqual([[claimedId, 'queued']]);

    failing.start = false;
    const generation = await acceptance.accept(caller, BODY, 'retry-me');
    expect(generation).toMatchObject({ id: claimedId, status: 'queued' });
    expect((await recordsOfCaller()).map((item) => item.id)).toEqual([claimedId]);
    expect(calls).toEqual([`start ${claimedId}`, `start ${claimedId}`]);
  });

  it('keeps the record when the run cannot be ruled out either: a start reported as failed may have happened', async () => {
    const { acceptance, caller, recordsOfCaller, logError } = acceptanceWith({ start: true, stop: true });
    await expect(acceptance.accept(caller, BODY)).rejects.toThrow('Step Functions is unavailable');
    const records = await recordsOfCaller();
    expect(records.map((item) => item.status)).toEqual(['queued']);
    // The operator is told which generation was left behind.
    expect(logError).toHaveBeenCalledOnce();
    expect(logError.mock.calls[0]?.[1]).toMatchObject({ generation_id: records[0]?.id, error_name: 'ServiceUnavailable' });
  });
});
