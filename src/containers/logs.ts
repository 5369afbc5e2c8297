// container.log: docker's json-file format, one JSON object per line of output:
// {"log":"hello\n","stream":"stdout","time":"2026-11-29T16:00:00.000000000Z"}
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

export interface LogEntry {
  log: string;
  stream: "stdout" | "stderr";
  time: string;
}

/** A line longer than this is written in pieces (docker splits at 16 KiB too). */
const MAX_ENTRY = 16 * 1024;

export class LogWriter {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a", 0o600);
  }

  /** Copies both streams into the log until they end. */
  async pump(stdout: unknown, stderr: unknown): Promise<void> {
    await Promise.all([
      stdout instanceof ReadableStream ? this.copy(stdout, "stdout") : undefined,
      stderr instanceof ReadableStream ? this.copy(stderr, "stderr") : undefined,
    ]);
  }

  private async copy(stream: ReadableStream<Uint8Array>, name: LogEntry["stream"]): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0 || pending.length >= MAX_ENTRY) {
        const end = nl >= 0 ? nl + 1 : MAX_ENTRY;
        this.write(name, pending.slice(0, end));
        pending = pending.slice(end);
      }
    }
    pending += decoder.decode();
    if (pending) this.write(name, pending);
  }

  private write(stream: LogEntry["stream"], log: string): void {
    const entry: LogEntry = { log, stream, time: new Date().toISOString() };
    writeSync(this.fd, JSON.stringify(entry) + "\n");
  }

  close(): void {
    closeSync(this.fd);
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
  } finally {
    closeSync(fd);
  }
}
