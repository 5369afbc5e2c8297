// A streaming tar reader: ustar, pax extended headers (per-entry and global), GNU long names and
// base-256 numbers. Push-based: write() chunks as they arrive, end() when the input is over. The
// handler gets each entry's header, then its content in pieces, then entryEnd(); every byte that is
// not entry content (headers, pax records, padding, the end marker and whatever follows it) goes to
// raw(), so that a handler can rebuild the exact stream (see tar-split.ts).

export type EntryType = "file" | "link" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarEntry {
  /** the name as stored (after pax `path` / GNU long name), not normalised */
  name: string;
  type: EntryType;
  /** permission bits including setuid, setgid and sticky */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** content bytes that follow the header */
  size: number;
  /** seconds since the epoch (fractional from pax) */
  mtime: number;
  atime?: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** from pax SCHILY.xattr.* (and LIBARCHIVE.xattr.*) */
  xattrs: Map<string, Buffer>;
  /** byte offset of the entry's header in the uncompressed stream */
  offset: number;
}

export interface TarHandler {
  entry(e: TarEntry): void;
  data(chunk: Uint8Array): void;
  entryEnd(): void;
  /** bytes that are not entry content, in stream order; valid only during the call */
  raw?(bytes: Uint8Array): void;
}

/** A malformed, truncated or unsupported archive. The message is one line. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
}

const BLOCK = 512;
const META_LIMIT = 64 << 20; // pax records / long names larger than this are refused
/**
 * What may follow the end-of-archive marker: writers pad the last record (GNU tar's default is
 * 20 blocks, 10 KiB; `-b` allows larger), and those bytes belong to the stream's digest, so they
 * are kept. Beyond this, it is not padding: an endless source (/dev/zero) must not run forever.
 */
export const TRAILER_LIMIT = 1 << 20;

/** Parses one 512-byte header block; `undefined` for an all-zero block (the end marker). */
export function parseHeader(h: Uint8Array, offset: number): RawHeader | undefined {
  let zero = true;
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) { zero = false; break; }
  if (zero) return undefined;
  const stored = parseOctal(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored === undefined || (stored !== unsigned && stored !== signed)) {
    throw new TarFormatError(offset === 0 ? "not a tar archive" : `corrupt archive: bad header checksum at byte ${offset}`);
  }
  const ustar = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72; // "ustar"
  const posix = ustar && h[262] === 0; // "ustar\0" (GNU writes "ustar ")
  let name = str(h, 0, 100);
  if (posix && h[345] !== 0) name = `${str(h, 345, 155)}/${name}`;
  const field = (what: string, off: number, len: number) => {
    const v = parseNumber(h, off, len);
    if (v === undefined) throw new TarFormatError(`corrupt archive: bad ${what} field in the header at byte ${offset}`);
    return v;
  };
  return {
    typeflag: String.fromCharCode(h[156]!),
    name,
    mode: field("mode", 100, 8),
    uid: field("uid", 108, 8),
    gid: field("gid", 116, 8),
    size: field("size", 124, 12),
    mtime: field("mtime", 136, 12),
    linkname: str(h, 157, 100),
    uname: ustar ? str(h, 265, 32) : "",
    gname: ustar ? str(h, 297, 32) : "",
    devmajor: ustar ? (parseNumber(h, 329, 8) ?? 0) : 0,
    devminor: ustar ? (parseNumber(h, 337, 8) ?? 0) : 0,
  };
}

export interface RawHeader {
  typeflag: string;
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function str(h: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && h[end] !== 0) end++;
  return Buffer.from(h.buffer, h.byteOffset + off, end - off).toString("utf8");
}

/** Octal, space/NUL padded; undefined when malformed. */
function parseOctal(h: Uint8Array, off: number, len: number): number | undefined {
  let i = off;
  const end = off + len;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) i++;
  if (i === end) return 0;
  let v = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) if (h[i] !== 0x20 && h[i] !== 0) return undefined;
  return v;
}

/** Octal, or GNU base-256 when the high bit of the first byte is set (negative values refused). */
function parseNumber(h: Uint8Array, off: number, len: number): number | undefined {
  const first = h[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined;
    let v = first & 0x7f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + h[i]!;
    return Number.isSafeInteger(v) ? v : undefined;
  }
  return parseOctal(h, off, len);
}

/** Pax extended header records: `<len> <key>=<value>\n`, values kept as bytes (xattrs are binary). */
export function parsePax(buf: Uint8Array, offset: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  let pos = 0;
  const bad = () => new TarFormatError(`corrupt archive: bad pax extended header at byte ${offset}`);
  while (pos < b.length) {
    if (b[pos] === 0) break; // some writers pad with NULs
    const sp = b.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) throw bad();
    const len = Number(b.toString("latin1", pos, sp));
    if (!Number.isSafeInteger(len) || len <= sp - pos + 1 || pos + len > b.length || b[pos + len - 1] !== 0x0a) throw bad();
    const eq = b.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= pos + len) throw bad();
    out.set(b.toString("utf8", sp + 1, eq), Buffer.from(b.subarray(eq + 1, pos + len - 1)));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = {
  "0": "file", "\0": "file", "7": "file", "1": "link", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo",
  D: "dir", // GNU dumpdir: a directory whose content lists its names
};

type State = "header" | "data" | "meta" | "pad" | "trailer";

export class TarParser {
  /** bytes consumed so far */
  offset = 0;
  private state: State = "header";
  private hdr = new Uint8Array(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private pad = 0;
  private meta?: { type: string; buf: Uint8Array; fill: number; offset: number };
  private pax = new Map<string, Buffer>();
  private globalPax = new Map<string, Buffer>();
  private longName?: string;
  private longLink?: string;
  private current?: TarEntry;
  private entries = 0;
  private lastName = "";
  private trailer = 0; // bytes after the end marker

  constructor(private readonly handler: TarHandler) {}

  /** True once the end-of-archive marker was read. */
  get complete(): boolean {
    return this.state === "trailer";
  }

  /** Entries read so far (pax and GNU extension headers not counted). */
  get entryCount(): number {
    return this.entries;
  }

  write(chunk: Uint8Array): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case "header": {
          const n = Math.min(BLOCK - this.hdrFill, len - pos);
          this.hdr.set(chunk.subarray(pos, pos + n), this.hdrFill);
          this.hdrFill += n;
          pos += n;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.header(this.offset + pos - BLOCK);
          }
          break;
        }
        case "data": {
          const n = Math.min(this.remaining, len - pos);
          this.handler.data(chunk.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endEntry();
          break;
        }
        case "meta": {
          const m = this.meta!;
          const n = Math.min(this.remaining, len - pos);
          m.buf.set(chunk.subarray(pos, pos + n), m.fill);
          this.handler.raw?.(chunk.subarray(pos, pos + n));
          m.fill += n;
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endMeta();
          break;
        }
        case "pad": {
          const n = Math.min(this.pad, len - pos);
          this.handler.raw?.(chunk.subarray(pos, pos + n));
          pos += n;
          this.pad -= n;
          if (this.pad === 0) this.state = "header";
          break;
        }
        case "trailer": {
          const n = Math.min(len - pos, TRAILER_LIMIT - this.trailer);
          if (n === 0) throw this.trailerError();
          this.handler.raw?.(chunk.subarray(pos, pos + n));
          this.trailer += n;
          pos += n;
          break;
        }
      }
    }
    this.offset += len;
  }

  /** Call at the end of the input: throws when the archive stopped before its end marker. */
  end(): void {
    if (this.state === "trailer") return;
    if (this.offset === 0) throw new TarFormatError("empty archive");
    if (this.offset < BLOCK && this.entries === 0) throw new TarFormatError("not a tar archive (too short)");
    const pendingMeta = this.meta !== undefined || this.pax.size > 0 || this.longName !== undefined || this.longLink !== undefined;
    const where = this.current
      ? ` inside "${this.current.name}"`
      : pendingMeta
        ? " inside an extended header"
        : this.hdrFill > 0
          ? ` inside a header at byte ${this.offset - this.hdrFill}`
          : this.state === "pad"
            ? ` inside the padding after "${this.lastName}"`
            : " (no end-of-archive marker)";
    throw new TarFormatError(`truncated archive: unexpected end of data${where}`);
  }

  private trailerError(): TarFormatError {
    return new TarFormatError(
      this.entries === 0
        ? "empty archive: no entries"
        : `corrupt archive: more than ${TRAILER_LIMIT >> 20} MiB of data after the end-of-archive marker`,
    );
  }

  private header(offset: number): void {
    const raw = parseHeader(this.hdr, offset);
    this.handler.raw?.(this.hdr);
    if (!raw) {
      this.state = "trailer";
      return;
    }
    const padOf = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;
    const t = raw.typeflag;
    // x, g: pax records; L, K: GNU long name / link name; V: GNU volume label (no file)
    if (t === "x" || t === "g" || t === "L" || t === "K" || t === "V") {
      if (raw.size > META_LIMIT) throw new TarFormatError(`unsupported archive: extended header of ${raw.size} bytes at byte ${offset}`);
      this.meta = { type: t, buf: new Uint8Array(raw.size), fill: 0, offset };
      this.remaining = raw.size;
      this.pad = padOf(raw.size);
      if (raw.size === 0) this.endMeta();
      else this.state = "meta";
      return;
    }
    if (t === "S" || t === "M" || t === "N") throw new TarFormatError(`unsupported archive: GNU ${t === "S" ? "sparse" : t === "M" ? "multi-volume" : "old long name"} entry "${raw.name}"`);
    const e = this.applyExtensions(raw, offset);
    this.entries++;
    this.pad = padOf(e.size);
    this.current = e;
    this.handler.entry(e);
    this.remaining = e.size;
    if (e.size === 0) this.endEntry();
    else this.state = "data";
  }

  private applyExtensions(raw: RawHeader, offset: number): TarEntry {
    let type: EntryType = TYPES[raw.typeflag] ?? "file";
    // pre-POSIX archives mark directories with a trailing slash on a regular entry
    if ((raw.typeflag === "0" || raw.typeflag === "\0") && raw.name.endsWith("/")) type = "dir";
    const e: TarEntry = {
      name: raw.name,
      type,
      mode: raw.mode & 0o7777,
      uid: raw.uid,
      gid: raw.gid,
      uname: raw.uname,
      gname: raw.gname,
      size: raw.size,
      mtime: raw.mtime,
      linkname: raw.linkname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs: new Map(),
      offset,
    };
    if (this.longName !== undefined) e.name = this.longName;
    if (this.longLink !== undefined) e.linkname = this.longLink;
    const bad = (k: string) => new TarFormatError(`corrupt archive: bad pax value for ${k} of "${e.name}"`);
    const int = (k: string, v: Buffer) => {
      const s = v.toString("latin1");
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw bad(k);
      return Number(s);
    };
    const time = (k: string, v: Buffer) => {
      const s = v.toString("latin1");
      if (!/^-?\d+(\.\d*)?$/.test(s)) throw bad(k);
      return Number(s);
    };
    for (const map of [this.globalPax, this.pax]) {
      for (const [k, v] of map) {
        if (k === "path") e.name = v.toString("utf8");
        else if (k === "linkpath") e.linkname = v.toString("utf8");
        else if (k === "size") e.size = int(k, v);
        else if (k === "uid") e.uid = int(k, v);
        else if (k === "gid") e.gid = int(k, v);
        else if (k === "uname") e.uname = v.toString("utf8");
        else if (k === "gname") e.gname = v.toString("utf8");
        else if (k === "mtime") e.mtime = time(k, v);
        else if (k === "atime") e.atime = time(k, v);
        else if (k === "SCHILY.devmajor") e.devmajor = int(k, v);
        else if (k === "SCHILY.devminor") e.devminor = int(k, v);
        else if (k.startsWith("SCHILY.xattr.")) e.xattrs.set(k.slice("SCHILY.xattr.".length), v);
        else if (k.startsWith("LIBARCHIVE.xattr.")) e.xattrs.set(decodeURIComponent(k.slice("LIBARCHIVE.xattr.".length)), Buffer.from(v.toString("latin1"), "base64"));
        else if (k.startsWith("GNU.sparse.")) throw new TarFormatError(`unsupported archive: sparse file "${e.name}"`);
      }
    }
    this.pax = new Map();
    this.longName = this.longLink = undefined;
    if (e.name.includes("\0") || e.linkname.includes("\0")) throw new TarFormatError(`corrupt archive: NUL in the name of the entry at byte ${offset}`);
    return e;
  }

  private endMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    if (m.type === "x") this.pax = parsePax(m.buf, m.offset);
    else if (m.type === "g") for (const [k, v] of parsePax(m.buf, m.offset)) this.globalPax.set(k, v);
    else if (m.type === "L" || m.type === "K") {
      let end = m.buf.indexOf(0);
      if (end < 0) end = m.buf.length;
      const s = Buffer.from(m.buf.buffer, m.buf.byteOffset, end).toString("utf8");
      if (m.type === "L") this.longName = s;
      else this.longLink = s;
    }
    this.state = this.pad > 0 ? "pad" : "header";
  }

  private endEntry(): void {
    this.lastName = this.current!.name;
    this.current = undefined;
    this.handler.entryEnd();
    this.state = this.pad > 0 ? "pad" : "header";
  }
}
