// A progress bar on stderr for long imports — only when stderr is a terminal, and only once the
// work has taken more than a moment (short imports print nothing).
import { humanSize } from "../format";

const DELAY_MS = 300;

let quiet = false;
/** No bars at all (`load -q`). */
export function setQuiet(): void {
  quiet = true;
}
const EVERY_MS = 100;

export class Progress {
  private done = 0;
  private readonly start = performance.now();
  private last = 0;
  private drawn = false;
  private readonly tty = process.stderr.isTTY === true && !quiet;

  constructor(
    private readonly label: string,
    private total?: number,
  ) {}

  add(n: number): void {
    this.done += n;
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.start < DELAY_MS || now - this.last < EVERY_MS) return;
    this.last = now;
    this.draw(now);
  }

  /** Draws the final state (if a bar was shown) and ends its line. */
  finish(): void {
    if (!this.drawn) return;
    if (this.total !== undefined) this.done = Math.max(this.done, this.total);
    this.draw(performance.now());
    process.stderr.write("\n");
  }

  /** Erases the bar (on errors, so the message starts on a clean line). */
  clear(): void {
    if (this.drawn) process.stderr.write("\r\x1b[K");
    this.drawn = false;
  }

  private draw(now: number): void {
    this.drawn = true;
    const rate = this.done / Math.max((now - this.start) / 1000, 0.001);
    const width = process.stderr.columns || 80;
    let line: string;
    if (this.total) {
      const frac = Math.min(this.done / this.total, 1);
      const text = ` ${String(Math.floor(frac * 100)).padStart(3)}% ${humanSize(this.done)}/${humanSize(this.total)} ${humanSize(rate)}/s`;
      const barWidth = Math.max(10, Math.min(50, width - this.label.length - text.length - 4));
      const fill = Math.floor(frac * barWidth);
      const bar = "=".repeat(Math.max(0, fill - 1)) + (fill > 0 ? (frac >= 1 ? "=" : ">") : "") + " ".repeat(barWidth - fill);
      line = `${this.label} [${bar}]${text}`;
    } else {
      line = `${this.label} ${humanSize(this.done)} ${humanSize(rate)}/s`;
    }
    process.stderr.write(`\r${line.slice(0, width - 1)}\x1b[K`);
  }
}
