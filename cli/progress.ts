/**
 * Live progress of a generation on stderr: one rewritten line on a terminal, a line
 * per status change otherwise (CI logs, pipes).
 */
export class Progress {
  private lastStatus = '';
  private readonly started = Date.now();
  private readonly interactive: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.interactive = Boolean(stream.isTTY);
  }

  update(status: string, detail = ''): void {
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1);
    const line = `${status.padEnd(10)} ${elapsed.padStart(6)} s${detail ? `  ${detail}` : ''}`;
    if (this.interactive) {
      this.stream.write(`\r\x1b[2K${line}`);
    } else if (status !== this.lastStatus) {
      this.stream.write(`${line}\n`);
    }
    this.lastStatus = status;
  }

  done(): void {
    if (this.interactive) this.stream.write('\n');
  }
}
