/**
 * The simulator's memory across restarts: an append-only NDJSON file holding the port it
 * listened on and every generation it accepted. A restarted `reelhook dev` resumes its
 * generations from the start, and they must find their provider jobs where their records
 * say: the same ids, at the same address (the stored video URLs name the port).
 *
 * Each line is one synchronous append, so an accepted job is on disk before its id is
 * answered. On load, generations older than a day (real provider URLs expire long before)
 * are dropped and the file is rewritten without them, so it stays small.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GenerationRecord } from './generations.js';

type StateLine = { type: 'listening'; port: number } | ({ type: 'generation' } & GenerationRecord);

export interface SimulatorState {
  /** The port of the last run, if any. */
  port: number | undefined;
  generations: GenerationRecord[];
}

const RETENTION_MS = 24 * 60 * 60 * 1000;

export class SimulatorStateFile {
  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** What earlier runs left; a torn last line (a crash mid-append) is ignored. */
  load(): SimulatorState {
    const state: SimulatorState = { port: undefined, generations: [] };
    if (!existsSync(this.path)) return state;
    const cutoff = this.now() - RETENTION_MS;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      const entry = parseLine(line);
      if (entry?.type === 'listening') state.port = entry.port;
      else if (entry?.type === 'generation' && entry.createdAtMs >= cutoff) {
        const { type: _type, ...record } = entry;
        state.generations.push(record);
      }
    }
    this.rewrite(state);
    return state;
  }

  recordPort(port: number): void {
    this.append({ type: 'listening', port });
  }

  recordGeneration(record: GenerationRecord): void {
    this.append({ type: 'generation', ...record });
  }

  private append(line: StateLine): void {
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }

  /** Replaces the file with the kept state at once (rename), so a crash never leaves it half-written. */
  private rewrite(state: SimulatorState): void {
    const lines: StateLine[] = [
      ...(state.port === undefined ? [] : [{ type: 'listening' as const, port: state.port }]),
      ...state.generations.map((record) => ({ type: 'generation' as const, ...record })),
    ];
    const partial = `${this.path}.${process.pid}.tmp`;
    writeFileSync(partial, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    renameSync(partial, this.path);
  }
}

function parseLine(line: string): StateLine | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as StateLine;
  } catch {
    return undefined;
  }
}
