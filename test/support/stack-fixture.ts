/**
 * The usual integration setup: a local stack in a temporary data folder (no waits, a
 * fast simulator) and a webhook receiver, torn down together.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

export interface StackFixture {
  stack: LocalStack;
  receiver: WebhookReceiver;
  dataDir: string;
  close(): Promise<void>;
}

export async function startStackFixture(name: string, options: Partial<LocalStackOptions> = {}): Promise<StackFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), `reelhook-${name}-`));
  const receiver = await startWebhookReceiver();
  const stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 0.3 }, ...options });
  return {
    stack,
    receiver,
    dataDir,
    close: async () => {
      await stack.close();
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
