// Byte sources for imports: a file or stdin as chunks, and transparent decompression chosen by the
// first bytes (gzip and zstd in-process through node:zlib; xz and bzip2 through their Debian CLIs).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";

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
    pos += n;
    left -= n;
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

/** FILE, or stdin for "-". */
export async function openRaw(path: string): Promise<RawInput> {
  if (path === "-") {
    const it = (Bun.stdin.stream() as unknown as Chunks)[Symbol.asyncIterator]();
    const first = await it.next();
    const head = first.done ? new Uint8Array(0) : first.value;
    async function* all(): Chunks {
      if (!first.done) yield first.value;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    return { chunks: all(), head, close() {} };
  }
  const fd = openSync(path, "r");
  const st = fstatSync(fd);
  const head = Buffer.alloc(8);
  readSync(fd, head, 0, 8, 0);
  return { chunks: fdChunks(fd), size: st.isFile() ? st.size : undefined, head, close: () => closeSync(fd) };
}

/** Counts bytes (and feeds a hasher) as they pass. */
export async function* tap(chunks: Chunks, fn: (c: Uint8Array) => void): Chunks {
  for await (const c of chunks) {
    fn(c);
    yield c;
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
