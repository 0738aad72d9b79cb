/** `reelhook <command>`: dispatches to the commands of CONTRACT.md §5. */
import '../local/outside-lambda.js';
import { runDev } from './dev.js';
import { runGenerate } from './generate.js';
import { KEYS_HELP, runKeys } from './keys.js';
import { UsageError } from './usage.js';

const HELP = `reelhook — durable orchestration of AI text-to-video generations

Usage:
  reelhook dev [--port 8787]
      Run the whole stack on 127.0.0.1 (data in REELHOOK_DATA_DIR, default .reelhook/).
  reelhook generate "<prompt>" [--model M] [--duration 5|10] [--aspect-ratio R]
      [--negative-prompt T] [--cfg-scale X] [--callback-url U] [--out FILE] [--json]
      Run one generation end to end and save the video. Uses REELHOOK_URL when set,
      else starts the embedded stack in this process.
${KEYS_HELP}
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
