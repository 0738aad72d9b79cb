/**
 * `reelhook dev`: the whole stack on 127.0.0.1 until interrupted. SIGINT/SIGTERM/SIGHUP, or
 * the parent process going away (see parent-watch.ts), drain:
 * steps already running finish (bounded), none starts, and every generation in flight is
 * left in the execution journal, so the next start resumes it. A second signal stops at once.
 */
import { relative } from 'node:path';
import { heldSink } from '../local/live-log.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { localStackOptions, parsePort } from './local-options.js';
import { watchParent } from './parent-watch.js';
import { helpRequested, parseCommandLine } from './usage.js';

export const DEV_HELP = `  reelhook dev [--port 8787] [--quiet]
      Run the whole stack on 127.0.0.1 (data in REELHOOK_DATA_DIR, default .reelhook/).
      Prints a live log of requests and steps (--quiet: none; REELHOOK_LOG_LEVEL=debug adds the handlers' JSON logs).
      Ctrl+C or SIGTERM drains and stops; in-flight generations resume at the next start.
`;

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** How long running steps get to finish on shutdown: inside the usual 10 s before a supervisor's SIGKILL. */
const DRAIN_TIMEOUT_MS = 8_000;

export async function runDev(args: string[]): Promise<number> {
  if (helpRequested(args)) {
    process.stdout.write(`Usage:\n${DEV_HELP}`);
    return 0;
  }
  const { values } = parseCommandLine(args, { port: { type: 'string' }, quiet: { type: 'boolean' } }, false);
  const port = parsePort(values.port as string | undefined, 8787);
  const options = localStackOptions(port);
  const liveLog = values.quiet === true ? undefined : heldSink(process.stdout, process.env);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({ ...options, liveLog });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(`port ${port} is in use already: start dev on another one with --port (e.g. --port ${port + 1}, or --port 0 for any free port)`, {
      cause: error,
    });
  }
  const provider = stack.simulator
    ? `built-in AI/ML API simulator at ${stack.providerBaseUrl} (set AIMLAPI_KEY to use the real API)`
    : stack.providerBaseUrl;
  process.stdout.write(
    [
      'reelhook dev is running',
      `  Base URL:        ${stack.url}/v2`,
      `  Dashboard:       ${stack.url}/`,
      // The key rides in the fragment, which browsers never send: it reaches no server log.
      `  Sign-in link:    ${stack.url}/#key=${stack.apiKey}`,
      `  API key:         ${stack.apiKey}`,
      `  Webhook secret:  ${stack.webhookSecret}`,
      `  Provider:        ${provider}`,
      `  Data folder:     ${relative(process.cwd(), options.dataDir) || '.'}`,
      `  Events:          ${relative(process.cwd(), stack.eventsFile)} (EventBridge stand-in at ${stack.eventBus.endpoint})`,
      ...(stack.resumed.length > 0 ? [`  Resumed:         ${stack.resumed.length} generation(s) that were in flight`] : []),
      'Other shells reach this server (`reelhook generate` on the same data folder finds it by itself) with:',
      `  export REELHOOK_URL=${stack.url}/v2 REELHOOK_API_KEY=${stack.apiKey}`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  liveLog?.release();

  let stopWatching = (): void => undefined;
  let onSignal = (_signal: NodeJS.Signals): void => undefined;
  const signal = await new Promise<string>((resolve) => {
    onSignal = resolve;
    for (const name of STOP_SIGNALS) process.once(name, onSignal);
    stopWatching = watchParent(() => {
      // The parent may have taken the read end of our stdout/stderr pipes with it: EPIPE must not crash the drain.
      process.stdout.on('error', () => undefined);
      process.stderr.on('error', () => undefined);
      resolve('parent process exited');
    });
  });
  stopWatching();
  for (const name of STOP_SIGNALS) process.off(name, onSignal);
  const stopNow = (): never => {
    process.stdout.write('stopped without waiting: in-flight generations resume at the next start\n');
    process.exit(130);
  };
  for (const name of STOP_SIGNALS) process.once(name, stopNow);
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
