/**
 * Append-only NDJSON record of executions, so that a restarted local stack knows past
 * executions and can resume those a crash interrupted.
 *
 * Each line is written with one synchronous write(2) on a file opened for appending, so
 * once an entry is recorded it survives the process dying. It is not fsynced: that costs
 * about 0.9 ms per line on this kind of machine, a large share of an execution's cost,
 * and only protects against the whole machine losing power.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type ClosedStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StartedEntry {
  type: 'started';
  name: string;
  arn: string;
  /** The execution input, as the JSON text it was started with. */
  input: string;
  /** ISO 8601. */
  startDate: string;
}

export interface EndedEntry {
  type: 'ended';
  arn: string;
  status: ClosedStatus;
  /** ISO 8601. */
  stopDate: string;
  output?: string;
  error?: string;
  cause?: string;
}

export type JournalEntry = StartedEntry | EndedEntry;

const NEWLINE = 0x0a;

/**
 * Reads the entries recorded so far. A crash can leave the last line half-written: that
 * unterminated tail is dropped (and cut from the file, so the next entry starts on a line
 * of its own). A damaged line anywhere else is an error, since entries would be lost.
 */
function readEntries(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  const content = readFileSync(path);
  const completeLength = content.lastIndexOf(NEWLINE) + 1;
  if (completeLength < content.length) truncateSync(path, completeLength);
  const lines = content.subarray(0, completeLength).toString('utf8').split('\n');
  const entries: JournalEntry[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      throw new Error(`Execution journal ${path} has a damaged line ${index + 1}`);
    }
  });
  return entries;
}

export class ExecutionJournal {
  /** The entries the file held when it was opened. */
  readonly recovered: readonly JournalEntry[];
  private fd: number | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.recovered = readEntries(path);
    this.fd = openSync(path, 'a');
  }

  append(entry: JournalEntry): void {
    if (this.fd === undefined) throw new Error(`Execution journal ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
