import { bar, formatBytes, formatCount, formatDuration } from './format.js';
import type { ProgressState } from './progress-state.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Redraws a few status lines on a TTY (stderr) at most every `intervalMs`, with ANSI cursor-up and
 * clear-line. Lines are truncated to the terminal width so wrapping never breaks the redraw.
 */
export class ProgressRenderer {
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  private note: string | undefined;
  private frame = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly state: ProgressState,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  /** A message printed above the bars (failures, Ctrl-C notice); stays in the scrollback. */
  log(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  setNote(note: string | undefined): void {
    this.note = note;
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  render(): string[] {
    const s = this.state;
    const width = Math.max(40, (this.out.columns || 80) - 1);
    const eta = s.etaMs();
    const rate = s.rate();
    const count = s.totalAssets !== undefined ? `${formatCount(s.assetsDone)}/${formatCount(s.totalAssets)}` : formatCount(s.assetsDone);
    const bytes = s.totalBytes !== undefined ? `${formatBytes(s.bytesSoFar())}/${formatBytes(s.totalBytes)}` : formatBytes(s.bytesSoFar());
    const known = s.totalAssets !== undefined || s.totalBytes !== undefined;
    const head = `${count} items  ${bytes}${rate > 0 ? `  ${formatBytes(rate)}/s` : ''}${known ? `  ETA ${eta === undefined ? '--' : formatDuration(eta)}` : ''}`;
    const barWidth = Math.max(10, Math.min(30, width - head.length - 4));
    // without totals (a source that streams its listing) a spinner says "working", not a fake bar
    const gauge = known ? `[${bar(s.fraction(), barWidth)}]` : SPINNER[this.frame++ % SPINNER.length]!;
    const lines = [`${s.pipeline ? `${s.pipeline} ` : ''}${gauge} ${head}`];
    for (const [sink, t] of s.sinks) {
      const parts = t.planned ? [`${formatCount(t.planned)} to copy`] : [`${formatCount(t.copied)} copied`];
      parts.push(`${formatCount(t.skipped)} already verified`);
      if (t.deduped) parts.push(`${formatCount(t.deduped)} deduped`);
      if (t.failed) parts.push(`${formatCount(t.failed)} failed`);
      lines.push(`  → ${sink}: ${parts.join(', ')}`);
    }
    if (this.note) lines.push(this.note);
    return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  }

  private draw(): void {
    const lines = this.render();
    this.clear();
    this.out.write(lines.join('\n') + '\n');
    this.lines = lines.length;
  }

  private clear(): void {
    if (this.lines > 0) this.out.write(`\x1b[${this.lines}A\x1b[0J`);
    this.lines = 0;
  }
}
