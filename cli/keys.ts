/**
 * `reelhook keys create | list | revoke | rotate-secret` (docs/local-mode.md): API keys in
 * the local store, or in a deployed stack's table with `--stack NAME`.
 *
 * Locally, a running `reelhook dev` holds the data folder's DynamoDB (LevelDB locks
 * it), so the command talks to that process's DynamoDB when its `running-stack.json`
 * names a live process, and otherwise opens the folder itself.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiKeyStore, type ApiKeySummary } from '#shared/auth/api-keys.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { DataFolderLocked, ensureTable, startLocalDynamoDb } from '../local/dynamodb.js';
import { LOCAL_NAMES } from '../local/names.js';
import { loadLocalManifest } from '../local/template/manifest.js';
import { dataDirFromEnv, runningDev } from './running-dev.js';
import { UsageError, helpRequested, parseCommandLine } from './usage.js';

export const KEYS_HELP = `  reelhook keys create --name N [--stack NAME] [--json]
      Make an API key (rk_…) and its webhook secret (whsec_…); both are shown once.
  reelhook keys list [--stack NAME] [--json]
      Every key: id, name, created, revoked (never a secret).
  reelhook keys revoke ID [--stack NAME]
      Revoke a key: its next request gets 401.
  reelhook keys rotate-secret ID [--stack NAME] [--json]
      Issue a new webhook secret, shown once; the previous one keeps signing for 24 h.
      Keys live in the local data folder (REELHOOK_DATA_DIR, default .reelhook/), or with
      --stack in that deployed stack's table (your AWS credentials).
`;


const OPTIONS = { name: { type: 'string' }, stack: { type: 'string' }, json: { type: 'boolean' } } as const;

export async function runKeys(args: string[]): Promise<number> {
  if (helpRequested(args)) {
    process.stdout.write(`Usage:\n${KEYS_HELP}`);
    return 0;
  }
  const [subcommand, ...rest] = args;
  const { values, positionals } = parseCommandLine(rest, OPTIONS, true);
  const stackName = values.stack as string | undefined;
  if (stackName !== undefined && stackName.trim() === '') throw new UsageError('--stack needs the name of a deployed reelhook stack');
  const asJson = values.json === true;
  switch (subcommand) {
    case 'create': {
      const name = (values.name as string | undefined)?.trim();
      if (!name) throw new UsageError('keys create needs --name');
      expectPositionals(positionals, 0, 'keys create');
      return withKeyStore(stackName, async (keys) => {
        const issued = await keys.issue(name);
        write(
          asJson
            ? { key_id: issued.key_id, name, api_key: issued.api_key, webhook_secret: issued.webhook_secret }
            : [
                `Created API key ${issued.key_id} ("${name}")`,
                `  API key:         ${issued.api_key}`,
                `  Webhook secret:  ${issued.webhook_secret}`,
                'Store both now: they are not shown again (only a hash of the key is kept).',
              ],
        );
        return 0;
      });
    }
    case 'list':
      expectPositionals(positionals, 0, 'keys list');
      return withKeyStore(stackName, async (keys) => {
        const list = await keys.list();
        write(asJson ? list : table(list));
        return 0;
      });
    case 'revoke': {
      const keyId = expectPositionals(positionals, 1, 'keys revoke ID')[0]!;
      return withKeyStore(stackName, async (keys) => {
        const revoked = await keys.revoke(keyId);
        if (!revoked) return fail(`no API key ${keyId}`);
        write([`Revoked ${keyId} at ${revoked.revoked_at}: its requests get 401 from now on.`]);
        return 0;
      });
    }
    case 'rotate-secret': {
      const keyId = expectPositionals(positionals, 1, 'keys rotate-secret ID')[0]!;
      return withKeyStore(stackName, async (keys) => {
        const rotated = await keys.rotateWebhookSecret(keyId);
        if (!rotated) return fail(`no API key ${keyId}`);
        write(
          asJson
            ? rotated
            : [
                `New webhook secret for ${keyId}`,
                `  Webhook secret:  ${rotated.webhook_secret}`,
                `Store it now: it is not shown again. Webhooks carry a signature with the previous secret too until ${rotated.previous_webhook_secret_expires_at}.`,
              ],
        );
        return 0;
      });
    }
    case undefined:
      throw new UsageError('keys needs a subcommand: create, list, revoke or rotate-secret');
    default:
      throw new UsageError(`unknown keys subcommand "${subcommand}"`);
  }
}

function expectPositionals(positionals: string[], count: number, usage: string): string[] {
  if (positionals.length !== count) throw new UsageError(`usage: reelhook ${usage}`);
  return positionals;
}

function write(output: unknown): void {
  process.stdout.write(Array.isArray(output) && output.every((line) => typeof line === 'string') ? `${output.join('\n')}\n` : `${JSON.stringify(output, null, 2)}\n`);
}

function fail(message: string): number {
  process.stderr.write(`reelhook: ${message}\n`);
  return 1;
}

function table(keys: ApiKeySummary[]): string[] {
  if (keys.length === 0) return ['No API keys yet: reelhook keys create --name NAME'];
  const rows = [['ID', 'NAME', 'CREATED', 'REVOKED'], ...keys.map((key) => [key.key_id, key.name, key.created_at, key.revoked_at ?? '-'])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

/** Opens the key store the command acts on, runs `action`, and closes what it opened. */
async function withKeyStore(stackName: string | undefined, action: (keys: ApiKeyStore) => Promise<number>): Promise<number> {
  if (stackName !== undefined) {
    try {
      const tableName = await deployedTableName(stackName);
      return await action(new ApiKeyStore(createDocumentClient(new DynamoDBClient({})), tableName));
    } catch (error) {
      throw awsSetupError(error, stackName);
    }
  }
  const dataDir = dataDirFromEnv();
  const running = await runningDev(dataDir);
  if (running) return action(new ApiKeyStore(createDocumentClient(localClient(running.dynamoDbEndpoint)), running.tableName));

  let dynamo;
  try {
    dynamo = await startLocalDynamoDb({ directory: join(dataDir, 'dynamodb') });
  } catch (error) {
    if (error instanceof DataFolderLocked) {
      throw new Error(`another process is using ${dataDir}; run this command while its reelhook dev is running, or stop that process`, { cause: error });
    }
    throw error;
  }
  try {
    const client = localClient(dynamo.endpoint);
    const manifest = await loadLocalManifest(LOCAL_NAMES);
    await ensureTable(client, { TableName: LOCAL_NAMES.tableName, ...manifest.table.createTableInput });
    return await action(new ApiKeyStore(createDocumentClient(client), LOCAL_NAMES.tableName));
  } finally {
    await dynamo.close();
  }
}


/** The stand-ins accept any credentials; explicit ones keep a developer's AWS profile out of local requests. */
function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_NAMES.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/**
 * The SDK's own words for a missing region or missing credentials ("Region is missing",
 * "Could not load credentials from any providers") do not say which option needed them
 * or how to provide them; anything else passes through unchanged.
 */
export function awsSetupError(error: unknown, stackName: string): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  if (/region is missing/i.test(error.message)) {
    return new Error(
      `--stack ${stackName} talks to AWS, and no AWS region is configured: set AWS_REGION (or AWS_PROFILE to a profile with a region)`,
      { cause: error },
    );
  }
  if (error.name === 'CredentialsProviderError' || /could not load credentials/i.test(error.message)) {
    return new Error(
      `--stack ${stackName} talks to AWS, and no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role applies`,
      { cause: error },
    );
  }
  return error;
}

/** The `TableName` output of a deployed reelhook stack, with the caller's AWS credentials. */
async function deployedTableName(stackName: string): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { Stacks } = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: stackName }));
  const output = Stacks?.[0]?.Outputs?.find((candidate) => candidate.OutputKey === 'TableName')?.OutputValue;
  if (!output) throw new Error(`stack ${stackName} has no TableName output; is it a reelhook stack?`);
  return output;
}
