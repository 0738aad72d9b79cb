/**
 * The local Step Functions engine behind its AWS JSON-protocol server, with an SDK client
 * pointed at it, in a temporary folder for its journal; torn down together.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type LocalEngineOptions, LocalStepFunctions } from '../../local/stepfunctions/engine.js';
import { type LocalSfnServer, startLocalSfnServer } from '../../local/stepfunctions/server.js';

export interface LocalSfnFixture {
  engine: LocalStepFunctions;
  server: LocalSfnServer;
  client: SFNClient;
  close(): Promise<void>;
}

export async function startLocalSfnFixture(name: string, options: Omit<LocalEngineOptions, 'journalPath'>): Promise<LocalSfnFixture> {
  const workDir = mkdtempSync(join(tmpdir(), `reelhook-sfn-${name}-`));
  const engine = new LocalStepFunctions({ ...options, journalPath: join(workDir, 'journal.ndjson') });
  const server = await startLocalSfnServer(engine);
  // No SDK retries: a retry against a loopback stand-in would only hide its errors.
  const client = new SFNClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return {
    engine,
    server,
    client,
    close: async () => {
      client.destroy();
      await server.close();
      await engine.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
