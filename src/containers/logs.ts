// container.log: docker's json-file format, one JSON object per line of output:
// {"log":"hello\n","stream":"stdout","time":"2026-11-29T16:00:00.000000000Z"}
// With --log-opt max-size (json-file semantics) the file is rotated once it has reached max-size:
// container.log -> container.log.1 -> ... -> container.log.<max-file - 1>, the oldest dropped.
// A file may pass max-size by the one entry that crossed it (docker's writer checks before a write).
import { wallClockParts } from "../clock";
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { FlagError } from "../errors";
import { parseBytes } from "../units";

export interface LogEntry {
  log: string;
  stream: "stdout" | "stderr";
  time: string;
}

export interface LogRotation {
  maxSize: number;
  maxFile: number;
}

export const logArgs = {
  "log-opt": { type: "string", valueHint: "KEY=VALUE...", description: "Log options: max-size=10m, max-file=3 (repeatable, or comma-separated)" },
} as const;

/** `--log-opt` values (repeatable, or comma-separated) as given: inspect's HostConfig.LogConfig.Config. */
export function logOptionPairs(values: string[]): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of values.flatMap((v) => v.split(","))) {
    const eq = item.indexOf("=");
    pairs[eq > 0 ? item.slice(0, eq) : item] = eq > 0 ? item.slice(eq + 1) : "";
  }
  return pairs;
}

/** `--log-opt max-size=10m,max-file=3` (repeatable) -> the rotation; undefined: unbounded (docker's json-file default). */
export function parseLogOpts(values: string[]): LogRotation | undefined {
  let maxSize: number | undefined;
  let maxFile: number | undefined;
  for (const [key, value] of Object.entries(logOptionPairs(values))) {
    if (key === "max-size") maxSize = parseBytes("--log-opt max-size", value);
    else if (key === "max-file") {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new FlagError(`invalid --log-opt max-file "${value}": expected a positive integer`);
      maxFile = Number(value);
    } else throw new FlagError(`unknown log opt '${key}' for json-file log driver (max-size, max-file)`);
  }
  if (maxFile !== undefined && maxFile > 1 && maxSize === undefined) throw new FlagError("--log-opt max-file requires max-size to be set");
  return maxSize === undefined ? undefined : { maxSize, maxFile: maxFile ?? 1 };
}

/** Now in RFC 3339 with nine fractional digits, as docker's json-file keeps it (src/clock.ts). */
export function nanoTime(): string {
  const { ms, belowMs } = wallClockParts();
  return `${new Date(ms).toISOString().slice(0, -1)}${String(belowMs).padStart(6, "0")}Z`;
}

/** A stored time as docker's `logs -t` prints it (RFC3339NanoFixed: always nine digits). */
export function fixedNanoTime(time: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0").slice(0, 9)}Z` : time;
}

/** A line longer than this is written in pieces (docker splits at 16 KiB too). */
const MAX_ENTRY = 16 * 1024;

/** The log files oldest first: the rotated ones (highest number first), then the current one. */
export function logFiles(path: string, rotation?: LogRotation): string[] {
  const rotated: string[] = [];
  for (let n = 1; rotation ? n < rotation.maxFile : exists(`${path}.${n}`); n++) rotated.unshift(`${path}.${n}`);
  return [...rotated.filter(exists), path];
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

export class LogWriter {
  private fd: number;
  private size: number;

  constructor(private readonly path: string, private readonly rotation?: LogRotation) {
    this.fd = openSync(path, "a", 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Copies both streams into the log until they end; `tap` sees every chunk as it comes. */
  async pump(stdout: unknown, stderr: unknown, tap?: (stream: LogEntry["stream"], chunk: Uint8Array) => void): Promise<void> {
    await Promise.all([
      stdout instanceof ReadableStream ? this.copy(stdout, "stdout", tap) : undefined,
      stderr instanceof ReadableStream ? this.copy(stderr, "stderr", tap) : undefined,
    ]);
  }

  private async copy(stream: ReadableStream<Uint8Array>, name: LogEntry["stream"], tap?: (stream: LogEntry["stream"], chunk: Uint8Array) => void): Promise<void> {
    const lines = this.lines(name);
    for await (const chunk of stream) {
      tap?.(name, chunk);
      lines.push(chunk);
    }
    lines.end();
  }

  /** Splits raw bytes of one stream into entries (a line each, 16 KiB at most). */
  lines(name: LogEntry["stream"]): { push(chunk: Uint8Array): void; end(): void } {
    const decoder = new TextDecoder();
    let pending = "";
    return {
      push: (chunk) => {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0 || pending.length >= MAX_ENTRY) {
          const end = nl >= 0 ? nl + 1 : MAX_ENTRY;
          this.write(name, pending.slice(0, end));
          pending = pending.slice(end);
        }
        this.flush();
      },
      end: () => {
        pending += decoder.decode();
        if (pending) this.write(name, pending);
        pending = "";
        this.flush();
      },
    };
  }

  /** entries of the chunk being split, written together (one write(2) per chunk, not per line) */
  private batch = "";

  private write(stream: LogEntry["stream"], log: string): void {
    if (this.rotation && this.size >= this.rotation.maxSize) this.rotate(this.rotation.maxFile);
    const line = JSON.stringify({ log, stream, time: nanoTime() } satisfies LogEntry) + "\n";
    this.batch += line;
    this.size += Buffer.byteLength(line);
  }

  private flush(): void {
    if (!this.batch) return;
    const bytes = Buffer.from(this.batch);
    this.batch = "";
    if (this.fd < 0) return; // lost already (see lose)
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    } catch (e) {
      this.lose(e);
    }
  }

  /**
   * A write or rotation that failed (a full disk): that output is lost, said once, and the
   * streams are still read to their end — a reader that stopped would leave the container's
   * writes to fail (EPIPE, SIGPIPE), and a log closed under the other stream's copy would leave
   * it writing into whatever file next gets the fd's number (a shared monitor opens many).
   */
  private lose(e: unknown): void {
    if (this.lost) return;
    this.lost = true;
    process.stderr.write(`mydocker: ${this.path}: output lost from here on: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
  }

  private lost = false;

  /** container.log.N-2 -> .N-1, ..., container.log -> .1 (rename(2): a reader's open fd keeps its file). */
  private rotate(maxFile: number): void {
    this.flush(); // the entries before the rotation belong to the file rotated away
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.size = 0;
    try {
      if (maxFile <= 1) rmSync(this.path, { force: true });
      else {
        rmSync(`${this.path}.${maxFile - 1}`, { force: true });
        for (let n = maxFile - 2; n >= 1; n--) if (exists(`${this.path}.${n}`)) renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
        renameSync(this.path, `${this.path}.1`);
      }
      this.fd = openSync(this.path, "a", 0o600);
    } catch (e) {
      this.lose(e);
    }
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads the complete entries of a log from byte `offset` on; returns them and the next offset. */
export function readLogEntries(path: string, offset = 0): { entries: LogEntry[]; next: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return { entries: [], next: offset };
  }
  try {
    return readLogFd(fd, offset);
  } finally {
    closeSync(fd);
  }
}

/** The complete entries of an open log from byte `offset` on. */
export function readLogFd(fd: number, offset = 0): { entries: LogEntry[]; next: number } {
  const size = fstatSync(fd).size;
  if (size <= offset) return { entries: [], next: offset };
  const data = Buffer.alloc(size - offset);
  let got = 0;
  while (got < data.length) {
    const n = readSync(fd, data, got, data.length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  const end = data.subarray(0, got).lastIndexOf(0x0a) + 1; // only whole lines
  const entries = data
    .subarray(0, end)
    .toString()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as LogEntry);
  return { entries, next: offset + end };
}

/** A log file held open: what a reader keeps when the file is renamed or dropped by a rotation. */
export interface OpenLog {
  fd: number;
  ino: number;
}

const inodeOf = (p: string): number | undefined => {
  try {
    return statSync(p).ino;
  } catch {
    return undefined;
  }
};

/**
 * The log's files open, oldest first, as one consistent set (container.log.N ... container.log):
 * after all are open each name must still be the file we hold, else a rotation ran meanwhile and
 * they are opened again. Reading the set then sees each line once, in order, however the writer
 * rotates afterwards (an open fd keeps its file). Empty when there is no log.
 */
export function openLogChain(path: string): OpenLog[] {
  for (let attempt = 0; ; attempt++) {
    const chain = tryOpenChain(path, attempt >= 200);
    if (chain) return chain;
    if (attempt >= 20) Bun.sleepSync(1); // a writer rotating without a pause: let it finish one
  }
}

function tryOpenChain(path: string, lastTry: boolean): OpenLog[] | undefined {
  const opened: (OpenLog & { name: string })[] = [];
  for (let n = 0; ; n++) {
    const name = n === 0 ? path : `${path}.${n}`;
    let fd: number;
    try {
      fd = openSync(name, "r");
    } catch {
      break;
    }
    opened.push({ name, fd, ino: fstatSync(fd).ino });
  }
  // no current file: no log at all, or a rotation between its rename and the new file
  if (opened.length === 0) return lastTry || inodeOf(`${path}.1`) === undefined ? [] : undefined;
  const steady = opened.every((f) => inodeOf(f.name) === f.ino) && inodeOf(`${path}.${opened.length}`) === undefined;
  if (steady || lastTry) return opened.reverse().map(({ fd, ino }) => ({ fd, ino }));
  for (const f of opened) closeSync(f.fd);
  return undefined;
}

/**
 * Follows a log across rotations: holds one file open at an offset; when the path names another
 * file, the held one is complete (the writer closes a file before it renames it), so it is read to
 * its end and the next newer file of a consistent set follows — never skipping a file that was
 * rotated in between (fast rotation), never reading one twice.
 */
export class LogFollower {
  private fd?: number;
  private ino?: number;
  private offset = 0;

  constructor(private readonly path: string) {}

  /** Goes on from a file already read up to `offset` (its other files were read by the caller). */
  static from(path: string, file: OpenLog | undefined, offset: number): LogFollower {
    const f = new LogFollower(path);
    if (file) Object.assign(f, { fd: file.fd, ino: file.ino, offset });
    return f;
  }

  /** Entries written since the last call. */
  read(): LogEntry[] {
    const out: LogEntry[] = [];
    for (let turn = 0; turn < 1000; turn++) {
      if (this.fd === undefined && !this.hold(openLogChain(this.path), 0)) return out;
      this.drain(out);
      if (inodeOf(this.path) === this.ino) return out;
      this.drain(out); // rotated away: complete now, its last lines first
      const chain = openLogChain(this.path);
      const at = chain.findIndex((f) => f.ino === this.ino);
      if (at === chain.length - 1) {
        // ours is the current file again (the set was read after yet another rotation began): retry
        for (const f of chain) closeSync(f.fd);
        continue;
      }
      this.close();
      this.hold(chain, at + 1); // at -1: ours was dropped (max-file), the oldest kept is next
    }
    return out;
  }

  /** Holds chain[index] from its start, closing the rest; false when there is none. */
  private hold(chain: OpenLog[], index: number): boolean {
    chain.forEach((f, i) => i !== index && closeSync(f.fd));
    const f = chain[index];
    if (!f) return false;
    this.fd = f.fd;
    this.ino = f.ino;
    this.offset = 0;
    return true;
  }

  private drain(out: LogEntry[]): void {
    const r = readLogFd(this.fd!, this.offset);
    out.push(...r.entries);
    this.offset = r.next;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
