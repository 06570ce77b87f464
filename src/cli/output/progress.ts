// A progress bar on stderr for long reads (`produce --file`): bytes done of
// total, rate and time left. Drawn only on a terminal, at most ten times a
// second; nothing at all otherwise, so pipes and logs stay clean.

import { formatBytes } from './units.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The bar's text for `done` of `total` bytes after `elapsedMs`. */
export function progressLine(done: number, total: number, elapsedMs: number, width = 80): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const stats = ` ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(Math.round(rate))}/s ETA ${formatEta(eta)}`;
  const barWidth = Math.max(10, Math.min(40, width - stats.length - 3));
  const filled = Math.round(fraction * barWidth);
  return `[${'='.repeat(filled)}${filled < barWidth ? '>' : ''}${' '.repeat(Math.max(0, barWidth - filled - 1))}]${stats}`;
}

export class ProgressBar {
  private done = 0;
  private lastDraw = 0;
  private readonly started: number;
  readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = stream.isTTY === true && total > 0;
    this.started = now();
  }

  /** Adds `bytes` to what is done; redraws at most every 100 ms. */
  advance(bytes: number): void {
    this.done += bytes;
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(now);
  }

  private draw(now: number): void {
    this.stream.write(`\r${progressLine(this.done, this.total, now - this.started, this.stream.columns ?? 80)}\x1b[K`);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.enabled) return;
    this.draw(this.now());
    this.stream.write('\n');
  }
}
