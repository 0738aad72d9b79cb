/**
 * `reelhook dev`: the whole stack on 127.0.0.1 until interrupted. SIGINT/SIGTERM drain:
 * steps already running finish (bounded), none starts, and every generation in flight is
 * left in the execution journal, so the next start resumes it. A second signal stops at once.
 */
import { relative } from 'node:path';
import { startLocalStack } from '../local/stack.js';
import { localStackOptions, parsePort } from './local-options.js';
import { parseCommandLine } from './usage.js';

/** How long running steps get to finish on shutdown: inside the usual 10 s before a supervisor's SIGKILL. */
const DRAIN_TIMEOUT_MS = 8_000;

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
      `  Dashboard:       ${stack.url}/`,
      `  API key:         ${stack.apiKey}`,
      `  Webhook secret:  ${stack.webhookSecret}`,
      `  Provider:        ${provider}`,
      `  Data folder:     ${relative(process.cwd(), options.dataDir) || '.'}`,
      `  Events:          ${relative(process.cwd(), stack.eventsFile)} (EventBridge stand-in at ${stack.eventBus.endpoint})`,
      ...(stack.resumed.length > 0 ? [`  Resumed:         ${stack.resumed.length} generation(s) that were in flight`] : []),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const stopNow = (): never => {
    process.stdout.write('stopped without waiting: in-flight generations resume at the next start\n');
    process.exit(130);
  };
  process.once('SIGINT', stopNow);
  process.once('SIGTERM', stopNow);
  process.stdout.write(`${signal}: draining (running steps finish, up to ${DRAIN_TIMEOUT_MS / 1000} s)\n`);
  await stack.stopAccepting();
  const drained = await stack.engine.drain(DRAIN_TIMEOUT_MS);
  await stack.close();
  process.stdout.write(
    drained
      ? 'stopped: in-flight generations resume at the next start\n'
      : 'stopped with steps still running: they run again at the next start\n',
  );
  return 0;
}
