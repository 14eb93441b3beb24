// The progress display of fit(): a redrawn bar with ETA, loss and metrics on a TTY; plain lines
// (one per epoch, plus a few per epoch for long epochs) when output is a file or a pipe.
import type { Logs } from './callbacks.js';

export interface ProgressSink {
  isTTY: boolean;
  write(s: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function fmtLogs(logs: Logs): string {
  return Object.entries(logs).map(([k, v]) => `${k}: ${Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4)}`).join(' - ');
}

export class Progress {
  private start = 0;
  private lastDraw = 0;
  private lastLine = -1;
  constructor(private readonly sink: ProgressSink, private readonly epochs: number, private readonly batches: number) {}

  epochBegin(epoch: number): void {
    this.start = performance.now();
    this.lastDraw = 0;
    this.lastLine = -1;
    if (this.sink.isTTY) this.sink.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  batchEnd(batch: number, logs: Logs): void {
    const now = performance.now();
    const done = batch + 1;
    const elapsed = (now - this.start) / 1000;
    const eta = (elapsed / done) * (this.batches - done);
    if (this.sink.isTTY) {
      if (now - this.lastDraw < 100 && done < this.batches) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round((done / this.batches) * width);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done === this.batches ? '=' : '>') : '') + '.'.repeat(width - filled);
      this.sink.write(`\r\x1b[K${String(done).padStart(String(this.batches).length)}/${this.batches} [${bar}] ETA ${fmtTime(eta)} - ${fmtLogs(logs)}`);
    } else {
      // about four lines per epoch, and only for epochs longer than a few batches
      const q = Math.floor((done / this.batches) * 4);
      if (this.batches >= 20 && q > this.lastLine && q < 4) {
        this.lastLine = q;
        this.sink.write(`  batch ${done}/${this.batches} - ETA ${fmtTime(eta)} - ${fmtLogs(logs)}\n`);
      }
    }
  }

  epochEnd(epoch: number, logs: Logs): void {
    const secs = (performance.now() - this.start) / 1000;
    if (this.sink.isTTY) this.sink.write(`\r\x1b[K${this.batches}/${this.batches} - ${fmtTime(secs)} - ${fmtLogs(logs)}\n`);
    else this.sink.write(`Epoch ${epoch + 1}/${this.epochs} - ${fmtTime(secs)} - ${fmtLogs(logs)}\n`);
  }
}
