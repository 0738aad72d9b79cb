/** `reelhook <command>`: dispatches to the commands of docs/local-mode.md. */
import '../local/outside-lambda.js';
import { readFile } from 'node:fs/promises';
import { DEV_HELP, runDev } from './dev.js';
import { GENERATE_HELP, runGenerate } from './generate.js';
import { GENERATIONS_HELP, runGenerationCommand } from './generations.js';
import { KEYS_HELP, runKeys } from './keys.js';
import { LOGS_HELP, runLogs } from './logs.js';
import { UsageError } from './usage.js';

const HELP = `reelhook — durable orchestration of AI text-to-video generations

Usage:
${DEV_HELP}${GENERATE_HELP}${GENERATIONS_HELP}${LOGS_HELP}${KEYS_HELP}  reelhook --version
Run "reelhook <command> --help" for one command's usage.
Without AIMLAPI_KEY the built-in AI/ML API simulator answers, so no account or network is needed.
`;

/** The version users installed: package.json's, the one npm reports. */
async function packageVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dev':
        return await runDev(rest);
      case 'generate':
        return await runGenerate(rest);
      case 'keys':
        return await runKeys(rest);
      case 'logs':
        return await runLogs(rest);
      case 'list':
      case 'get':
      case 'cancel':
      case 'redeliver':
        return await runGenerationCommand(command, rest);
      case '--version':
      case '-v':
        process.stdout.write(`reelhook ${await packageVersion()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`reelhook: ${error.message}\nRun "reelhook --help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`reelhook: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
