/** `reelhook <command>`: dispatches to the commands of docs/local-mode.md. */
import '../local/outside-lambda.js';
import { DEV_HELP, runDev } from './dev.js';
import { GENERATE_HELP, runGenerate } from './generate.js';
import { KEYS_HELP, runKeys } from './keys.js';
import { LOGS_HELP, runLogs } from './logs.js';
import { UsageError } from './usage.js';

const HELP = `reelhook — durable orchestration of AI text-to-video generations

Usage:
${DEV_HELP}${GENERATE_HELP}${KEYS_HELP}${LOGS_HELP}
Run "reelhook <command> --help" for one command's usage.
Without AIMLAPI_KEY the built-in AI/ML API simulator answers, so no account or network is needed.
`;

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
