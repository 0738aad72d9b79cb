/** `reelhook dev`: the whole stack on 127.0.0.1 until interrupted. */
import { relative } from 'node:path';
import { startLocalStack } from '../local/stack.js';
import { localStackOptions, parsePort } from './local-options.js';
import { parseCommandLine } from './usage.js';

export async function runDev(args: string[]): Promise<number> {
  const { values } = parseCommandLine(args, { port: { type: 'string' } }, false);
  const options = localStackOptions(parsePort(values.port as string | undefined, 8787));
  const stack = await startLocalStack(options);
  const provider = stack.simulator
    ? `built-in AI/ML API simulator at ${stack.providerBaseUrl} (set AIMLAPI_KEY to use the real API)`
    : stack.providerBaseUrl;
  process.stdout.write(
    [
      'reelhook dev is running',
      `  Base URL:        ${stack.url}/v2`,
      `  API key:         ${stack.apiKey}`,
      `  Webhook secret:  ${stack.webhookSecret}`,
      `  Provider:        ${provider}`,
      `  Data folder:     ${relative(process.cwd(), options.dataDir) || '.'}`,
      ...(stack.resumed.length > 0 ? [`  Resumed:         ${stack.resumed.length} generation(s) that were in flight`] : []),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('stopping: in-flight generations resume at the next start\n');
  await stack.close();
  return 0;
}
