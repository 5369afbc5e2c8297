// Byte sources for imports: a file or stdin as chunks, and transparent decompression chosen by the
// first bytes (gzip and zstd in-process through node:zlib; xz and bzip2 through their Debian CLIs).
// Every source gives the event loop a turn now and then (interrupt.ts): SIGINT and SIGTERM must
// work even on an endless input.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { breathe } from "./interrupt";

export type Compression = "none" | "gzip" | "zstd" | "xz" | "bzip2";

export type Chunks = AsyncIterable<Uint8Array>;

export function detectCompression(head: Uint8Array): Compression {
  const is = (...b: number[]) => b.every((v, i) => head[i] === v);
  if (is(0x1f, 0x8b)) return "gzip";
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (is(0x42, 0x5a, 0x68)) return "bzip2";
  return "none";
}

const CHUNK = 1 << 20;
const HEAD = 8; // enough for every magic number above

/** `length` bytes of an open file from `start`, in fresh 1 MiB chunks. */
export async function* fdChunks(fd: number, start = 0, length = Infinity): Chunks {
  for (let pos = start, left = length; left > 0; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) {
      if (length !== Infinity) throw new Error("unexpected end of file");
      return;
    }
    yield buf.subarray(0, n);
    await breathe();
    pos += n;
    left -= n;
  }
}

/**
 * A stream that cannot seek (a FIFO, a character device, a socket), read where it stands. Reads
 * run on the thread pool (node:fs/promises), so a writer that is slow to come, or to write, never
 * blocks the event loop: a FIFO's open(2) alone waits for its writer (fifo(7)).
 */
async function* streamChunks(fh: FileHandle): Chunks {
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
    await breathe();
  }
}

/** Sync chunks (a tar being written from a directory) as a source that lets signals through. */
export async function* asChunks(it: Iterable<Uint8Array>): Chunks {
  for (const c of it) {
    yield c;
    await breathe();
  }
}

export interface RawInput {
  chunks: Chunks;
  /** total bytes when known (a regular file) */
  size?: number;
  /** the first bytes, for detection */
  head: Uint8Array;
  close(): void;
}

/**
 * FILE, or stdin for "-". A regular file is read by offset; anything else (a FIFO, /dev/zero, a
 * socket) as a stream.
 */
export async function openRaw(path: string): Promise<RawInput> {
  if (path === "-") return withHead((Bun.stdin.stream() as unknown as Chunks)[Symbol.asyncIterator](), () => {});
  if (statSync(path).isFile()) {
    const fd = openSync(path, "r");
    const st = fstatSync(fd);
    const head = Buffer.alloc(HEAD);
    readSync(fd, head, 0, HEAD, 0);
    return { chunks: fdChunks(fd), size: st.size, head, close: () => closeSync(fd) };
  }
  const fh = await open(path, "r");
  return withHead(streamChunks(fh)[Symbol.asyncIterator](), () => void fh.close().catch(() => {}));
}

/** A stream whose first bytes are read ahead (they tell the compression). */
async function withHead(it: AsyncIterator<Uint8Array>, close: () => void): Promise<RawInput> {
  const ahead: Uint8Array[] = [];
  let done = false;
  try {
    for (let n = 0; n < HEAD && !done; ) {
      const r = await it.next();
      if (r.done) done = true;
      else {
        ahead.push(r.value);
        n += r.value.length;
      }
    }
  } catch (e) {
    close();
    throw e;
  }
  async function* all(): Chunks {
    yield* ahead;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      yield r.value;
      await breathe();
    }
  }
  return { chunks: all(), head: Buffer.concat(ahead).subarray(0, HEAD), close };
}

/** Counts bytes (and feeds a hasher) as they pass. */
export async function* tap(chunks: Chunks, fn: (c: Uint8Array) => void): Chunks {
  for await (const c of chunks) {
    fn(c);
    yield c;
    await breathe();
  }
}

/** The uncompressed stream, whatever `head` says the compression is. */
export function decompress(chunks: Chunks, kind: Compression): Chunks {
  switch (kind) {
    case "none":
      return chunks;
    case "gzip":
      return viaZlib(chunks, createGunzip(), "gzip");
    case "zstd":
      return viaZlib(chunks, createZstdDecompress(), "zstd");
    case "xz":
      return viaCommand(chunks, ["xz", "-dc"], "xz");
    case "bzip2":
      return viaCommand(chunks, ["bzip2", "-dc"], "bzip2");
  }
}

async function* viaZlib(chunks: Chunks, z: NodeJS.ReadWriteStream & { destroy(e?: Error): void }, what: string): Chunks {
  const src = Readable.from(chunks, { objectMode: false });
  src.on("error", (e) => z.destroy(e));
  src.pipe(z);
  try {
    for await (const c of z as AsyncIterable<Uint8Array>) yield c;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code?.startsWith("Z_") || /zstd|gzip|header|end of file/i.test((e as Error).message)) {
      throw new Error(`corrupt or truncated ${what} data (${(e as Error).message})`);
    }
    throw e;
  } finally {
    src.destroy();
  }
}

async function* viaCommand(chunks: Chunks, argv: string[], what: string): Chunks {
  if (!Bun.which(argv[0]!)) throw new Error(`${what}-compressed input needs the ${argv[0]} command (apt-get install ${what === "xz" ? "xz-utils" : what})`);
  const proc = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let pumpError: unknown;
  const pump = (async () => {
    try {
      for await (const c of chunks) {
        proc.stdin.write(c);
        await proc.stdin.flush();
      }
    } catch (e) {
      pumpError = e;
      proc.kill();
    } finally {
      try {
        await proc.stdin.end();
      } catch {}
    }
  })();
  try {
    for await (const c of proc.stdout as unknown as Chunks) yield c;
    await pump;
    if (pumpError) throw pumpError;
    const code = await proc.exited;
    if (code !== 0) {
      const err = (await new Response(proc.stderr).text()).trim().split("\n")[0] ?? "";
      throw new Error(`corrupt or truncated ${what} data (${err.replace(/^[^:]*:\s*/, "") || `exit ${code}`})`);
    }
  } finally {
    if (proc.exitCode === null) proc.kill();
  }
}
