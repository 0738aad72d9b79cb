/**
 * dynalite in a service thread (service-thread.ts): every table request of the stack (the
 * API's, the steps', the CLI's through running-stack.json) is answered on a loop of its own.
 */
import { startLocalDynamoDb } from '../dynamodb.js';
import type { RunningService } from './protocol.js';

export interface DynamoDbServiceOptions {
  directory: string;
}

export async function startService(options: DynamoDbServiceOptions): Promise<RunningService<{ endpoint: string }>> {
  const dynamo = await startLocalDynamoDb(options);
  return { info: { endpoint: dynamo.endpoint }, stop: () => dynamo.close() };
}
