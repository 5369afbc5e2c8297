// The bytes of a layer tar that are not file content (headers, pax records, padding, end marker),
// kept beside the unpacked layer, so that `save` can rebuild the original tar byte for byte (its
// sha256 is the layer's diff id) from them and the files in diff/. Docker keeps the same thing
// ("tar-split"); this is our own format:
//
//   tar-split   frames of [u32 LE length][raw-deflate of records]; records are
//               'R' u32 len, bytes           raw tar bytes
//               'F' u32 lo, u32 hi, u32 len, path   `size` content bytes of diff/<path>
//   shadow/<n>  content of the n-th 'F' record when a later entry of the same tar replaced its
//               file (rare; tar allows a path twice)
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, writeSync, constants as C } from "node:fs";
import { join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";

const FRAME = 1 << 20;

export class TarSplitWriter {
  /** length of the tar described so far */
  tarSize = 0;
  private fd: number;
  private out = Buffer.allocUnsafe(FRAME + 64 * 1024);
  private len = 0;
  private openRaw = -1; // offset of the length field of the open 'R' record
  private files = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
  }

  raw(bytes: Uint8Array): void {
    this.tarSize += bytes.length;
    let pos = 0;
    while (pos < bytes.length) {
      if (this.openRaw < 0) {
        this.reserve(5);
        this.out[this.len] = 0x52; // 'R'
        this.openRaw = this.len + 1;
        this.out.writeUInt32LE(0, this.openRaw);
        this.len += 5;
      }
      const n = Math.min(bytes.length - pos, this.out.length - this.len);
      this.out.set(bytes.subarray(pos, pos + n), this.len);
      this.len += n;
      this.out.writeUInt32LE(this.out.readUInt32LE(this.openRaw) + n, this.openRaw);
      pos += n;
      if (this.len >= FRAME) this.flush();
    }
  }

  /** Records that `size` content bytes come from diff/<path>; returns the record's number. */
  file(path: string, size: number): number {
    this.tarSize += size;
    const p = Buffer.from(path);
    this.openRaw = -1;
    this.reserve(13 + p.length);
    this.out[this.len] = 0x46; // 'F'
    this.out.writeUInt32LE(size % 2 ** 32, this.len + 1);
    this.out.writeUInt32LE(Math.floor(size / 2 ** 32), this.len + 5);
    this.out.writeUInt32LE(p.length, this.len + 9);
    p.copy(this.out, this.len + 13);
    this.len += 13 + p.length;
    if (this.len >= FRAME) this.flush();
    return this.files++;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private reserve(n: number): void {
    if (this.len + n > this.out.length) this.flush();
    if (n > this.out.length) this.out = Buffer.allocUnsafe(n);
  }

  private flush(): void {
    this.openRaw = -1;
    if (this.len === 0) return;
    const z = deflateRawSync(this.out.subarray(0, this.len), { level: 1 });
    const head = Buffer.alloc(4);
    head.writeUInt32LE(z.length);
    writeAll(this.fd, head);
    writeAll(this.fd, z);
    this.len = 0;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}

export type SplitRecord = { raw: Buffer } | { file: number; path: string; size: number };

/** The records of a tar-split file, in order. */
export function* readTarSplit(path: string): Generator<SplitRecord> {
  const fd = openSync(path, C.O_RDONLY);
  try {
    const total = fstatSync(fd).size;
    let off = 0;
    let files = 0;
    const head = Buffer.alloc(4);
    while (off < total) {
      if (readSync(fd, head, 0, 4, off) !== 4) throw new Error(`${path}: truncated`);
      const n = head.readUInt32LE(0);
      const z = Buffer.allocUnsafe(n);
      if (readSync(fd, z, 0, n, off + 4) !== n) throw new Error(`${path}: truncated`);
      off += 4 + n;
      const recs = inflateRawSync(z);
      for (let p = 0; p < recs.length; ) {
        const tag = recs[p];
        if (tag === 0x52) {
          const len = recs.readUInt32LE(p + 1);
          yield { raw: recs.subarray(p + 5, p + 5 + len) };
          p += 5 + len;
        } else if (tag === 0x46) {
          const size = recs.readUInt32LE(p + 1) + recs.readUInt32LE(p + 5) * 2 ** 32;
          const len = recs.readUInt32LE(p + 9);
          yield { file: files++, path: recs.toString("utf8", p + 13, p + 13 + len), size };
          p += 13 + len;
        } else throw new Error(`${path}: corrupt record`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Rebuilds a layer's tar from `<layer>/tar-split` and `<layer>/diff` as a series of chunks (each
 * valid until the next is requested). Throws when a file no longer has its recorded size.
 */
export function* reassembleTar(layerDir: string): Generator<Uint8Array> {
  const shadowDir = join(layerDir, "shadow");
  const shadowed = new Set(existsSync(shadowDir) ? readdirSync(shadowDir).map(Number) : []);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const r of readTarSplit(join(layerDir, "tar-split"))) {
    if ("raw" in r) {
      yield r.raw;
      continue;
    }
    const file = shadowed.has(r.file) ? join(shadowDir, String(r.file)) : join(layerDir, "diff", r.path);
    let fd: number;
    try {
      fd = openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
    } catch (e) {
      throw new Error(`layer content changed: ${r.path} (${(e as NodeJS.ErrnoException).code})`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size !== r.size) throw new Error(`layer content changed: ${r.path}`);
      for (let left = r.size, pos = 0; left > 0; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
        if (n <= 0) throw new Error(`layer content changed: ${r.path}`);
        yield buf.subarray(0, n);
        left -= n;
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
  }
}
