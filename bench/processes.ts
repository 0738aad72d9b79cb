/**
 * Child processes for the bench: each measured piece runs in its own Node process so
 * that its memory and CPU are its own, and every child is stopped when the bench ends.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (rejects if the child exits first or after `timeoutMs`). */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The JSON a measuring child prints on its `result {…}` line, once the child has exited. */
  result<T>(timeoutMs?: number): Promise<T>;
  /** Resolves with the exit code (after SIGTERM if still running after `graceMs`, SIGKILL after twice that). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
  /** Everything written to stderr so far (for error messages). */
  stderr(): string;
}

const children = new Set<Child>();

/** Runs a TypeScript file of this repository in a fresh Node process (through tsx, as bin/reelhook.mjs does). */
export function startTsChild(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  return startChild(process.execPath, ['--import', 'tsx', file, ...args], env);
}

export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    // Enough to explain a failure, never the whole of a chatty child.
    errors = (errors + text).slice(-8000);
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push(text);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => {
    running = false;
    for (const wake of waiters.splice(0)) wake();
  });

  const handle: Child = {
    process: child,
    exited,
    stderr: () => errors,
    async line(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      for (;;) {
        for (; seen < lines.length; seen += 1) {
          const match = pattern.exec(lines[seen] ?? '');
          if (match) return match;
        }
        if (!running) throw new Error(`${args.join(' ')} exited before printing ${pattern}:\n${errors}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${args.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${errors}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async result<T>(timeoutMs?: number) {
      const [, json = '{}'] = await handle.line(/^result (.*)$/, timeoutMs);
      await exited;
      return JSON.parse(json) as T;
    },
    async stop(graceMs = 10_000) {
      if (running) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(handle);
      return exited;
    },
  };
  children.add(handle);
  return handle;
}

/** Stops every child still running (on the bench's way out, whatever happened). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(2000)));
}

/**
 * Peak resident set size of a running process in MB: the kernel's high-water mark
 * (VmHWM), exact rather than sampled. Linux only; elsewhere null.
 */
export function peakRssMbOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** This process's peak RSS in MB (getrusage's ru_maxrss, the kernel's high-water mark). */
export function ownPeakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

let clockTicksPerSecond: number | undefined;

/** CPU time (user + system) a running process has used so far, in seconds. Linux only; elsewhere null. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return null;
  }
}
