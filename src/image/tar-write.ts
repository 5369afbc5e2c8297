// A tar writer (ustar headers, pax records when a value does not fit) and a deterministic walk of
// a directory into a tar stream: names sorted, numeric owners, whole-second mtimes, hard links
// detected by inode, xattrs as SCHILY.xattr.*. With `whiteouts`, overlayfs whiteouts are written
// the portable way (0:0 char device NAME -> empty `.wh.NAME`, opaque dir -> `.wh..wh..opq`), which
// is how a container's upper dir becomes a layer.
import { splitDev } from "../../ffi/fs";
import { walkTree } from "./fd-walk";
import type { EntryType, RawHeader } from "./tar";
import { OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from "./extract";

export interface HeaderFields {
  name: string;
  type: EntryType;
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer> | [string, Buffer][];
}

const TYPEFLAG: Record<EntryType, string> = { file: "0", link: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

/** Two zero blocks. */
export const END_OF_ARCHIVE = new Uint8Array(1024);

/** Padding after `size` content bytes. */
export const padding = (size: number) => new Uint8Array((512 - (size % 512)) % 512);

/** The header block(s) of one entry: a pax 'x' header first when something does not fit ustar. */
export function tarHeader(f: HeaderFields): Buffer {
  const pax: [string, Buffer][] = [];
  const size = f.size ?? 0;
  const uid = f.uid ?? 0;
  const gid = f.gid ?? 0;
  const mtime = Math.floor(f.mtime ?? 0);
  const name = f.type === "dir" && !f.name.endsWith("/") ? `${f.name}/` : f.name;
  const linkname = f.linkname ?? "";
  if (!fits(name, 100)) pax.push(["path", Buffer.from(name)]);
  if (!fits(linkname, 100)) pax.push(["linkpath", Buffer.from(linkname)]);
  if (size > 0o77777777777) pax.push(["size", Buffer.from(String(size))]);
  if (uid > 0o7777777) pax.push(["uid", Buffer.from(String(uid))]);
  if (gid > 0o7777777) pax.push(["gid", Buffer.from(String(gid))]);
  if (mtime < 0 || mtime > 0o77777777777) pax.push(["mtime", Buffer.from(String(mtime))]);
  for (const [k, v] of f.xattrs ?? []) pax.push([`SCHILY.xattr.${k}`, v]);
  const block = ustar({
    name: truncate(name, 100),
    mode: f.mode & 0o7777,
    uid: Math.min(uid, 0o7777777),
    gid: Math.min(gid, 0o7777777),
    size: size > 0o77777777777 ? 0 : size,
    mtime: Math.min(Math.max(mtime, 0), 0o77777777777),
    typeflag: TYPEFLAG[f.type],
    linkname: truncate(linkname, 100),
    devmajor: f.devmajor ?? 0,
    devminor: f.devminor ?? 0,
  });
  if (pax.length === 0) return block;
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const base = name.replace(/\/$/, "").split("/").pop()!;
  const paxHeader = ustar({
    name: truncate(`PaxHeaders/${base}`, 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: Math.min(Math.max(mtime, 0), 0o77777777777),
    typeflag: "x",
    linkname: "",
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, records, padding(records.length), block]);
}

const fits = (s: string, n: number) => Buffer.byteLength(s) <= n;

function truncate(s: string, n: number): string {
  let b = Buffer.from(s);
  if (b.length <= n) return s;
  b = b.subarray(0, n);
  return b.toString("utf8").replace(/\uFFFD+$/, "");
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** The ustar fields we write: the reader's header less the owner names (left empty, numeric ids rule). */
type Ustar = Omit<RawHeader, "uname" | "gname">;

function ustar(h: Ustar): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100);
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.fill(0x20, 148, 156);
  b.write(h.typeflag, 156, 1, "latin1");
  b.write(h.linkname, 157, 100);
  b.write("ustar\x0000", 257, 8, "latin1");
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return b;
}

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, "0") + "\0", off, len, "latin1");
}

// ---------------------------------------------------------------- directories

export interface DirTarOptions {
  /** write overlayfs whiteouts and opaque dirs as `.wh.` entries */
  whiteouts?: boolean;
}

/**
 * The tar stream of a directory's contents (not the directory itself), as chunks valid until the
 * next is requested. Sockets are left out (tar cannot hold them). The walk never leaves `root`,
 * even while a running container rearranges it (fd-walk.ts): a symlink is archived as a symlink.
 */
export function* tarDirectory(root: string, opts: DirTarOptions = {}): Generator<Uint8Array> {
  const links = new Map<string, string>(); // "dev:ino" -> first name
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const e of walkTree(root)) {
    const { stat: st, path: name, type } = e;
    const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (opts.whiteouts && type === "char" && st.rdev === 0) {
      yield tarHeader({ ...common, name: whiteoutName(name), type: "file", mode: 0o600 });
      continue;
    }
    if (type === "socket") continue;
    const xattrs = e.xattrs((k) => k.startsWith("trusted.overlay."));
    if (type !== "dir" && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        yield tarHeader({ ...common, name, type: "link", linkname: first });
        continue;
      }
      links.set(key, name);
    }
    if (type === "dir") {
      const opaque = opts.whiteouts && e.xattr(OPAQUE_XATTR)?.toString() === "y";
      yield tarHeader({ ...common, name, type, xattrs });
      if (opaque) yield tarHeader({ ...common, name: `${name}/${OPAQUE_MARKER}`, type: "file", mode: 0o600 });
    } else if (type === "file") {
      yield tarHeader({ ...common, name, type, size: st.size, xattrs });
      yield* e.content(buf);
      yield padding(st.size);
    } else if (type === "symlink") {
      yield tarHeader({ ...common, name, type, linkname: e.linkTarget(), xattrs });
    } else {
      const { major, minor } = splitDev(st.rdev);
      yield tarHeader({ ...common, name, type, devmajor: type === "fifo" ? 0 : major, devminor: type === "fifo" ? 0 : minor, xattrs });
    }
  }
  yield END_OF_ARCHIVE;
}

function whiteoutName(name: string): string {
  const i = name.lastIndexOf("/");
  return `${name.slice(0, i + 1)}${WHITEOUT_PREFIX}${name.slice(i + 1)}`;
}
