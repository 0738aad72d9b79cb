/**
 * `reelhook dev` as a real child process (the CLI a user runs), for tests that need
 * a separate process: restarts, crashes, or an external provider.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './http.js';

const BIN = join(import.meta.dirname, '../../bin/reelhook.mjs');

export interface DevProcess {
  child: ChildProcess;
  url: string;
  apiKey: string;
  webhookSecret: string;
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** `args` are dev's flags besides `--port 0`. */
export async function startDevProcess(env: NodeJS.ProcessEnv, timeoutMs = 60_000, args: string[] = []): Promise<DevProcess> {
  const child = spawn(process.execPath, [BIN, 'dev', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const field = (label: string): string | undefined => new RegExp(`${label}:\\s+(\\S+)`).exec(output)?.[1];
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`reelhook dev exited early:\n${output}`);
      return output.includes('Press Ctrl+C') ? true : undefined;
    }, timeoutMs, 100);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  return {
    child,
    url: (field('Base URL') as string).replace(/\/v2$/, ''),
    apiKey: field('API key') as string,
    webhookSecret: field('Webhook secret') as string,
    output: () => output,
    exited,
  };
}
