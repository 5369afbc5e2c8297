// `cp`'s two halves, both by fd: a tar stream of one entry (and all below it) that was resolved
// inside a root, and a tar handler that unpacks a stream into a directory resolved inside a root.
// The same code serves both directions: the container's root (its overlay's merged dir, or its
// rootfs dir) is the root on the container side, and the host's `/` on the host side.
//
// Every path inside the root is resolved with openat2(2) RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS:
// "..", absolute paths and symlinks (`/evil -> /`, `x -> ../../../host-file`) are resolved as if the
// root were `/`, so they never lead out of it. What we create is created with *at(2) calls relative
// to the resolved parent's fd, one name at a time; an existing entry of that name that is not a
// directory we may merge into is removed first (never followed: a symlink is replaced, not written
// through). A directory is walked by fds (src/image/fd-walk.ts), never by path.
import { closeSync, fchmodSync, fchownSync, fstatSync, futimesSync, readlinkSync, writeSync, type Stats } from "node:fs";
import { posix } from "node:path";
import { makedev, splitDev, S_IFBLK, S_IFCHR, S_IFIFO } from "../../ffi/fs";
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY,
  RESOLVE_CONFINED, RESOLVE_CONTAINED, fchownat, linkat, mkdirat, mknodat, openat2, openatCreate, readlinkat, symlinkat, unlinkat,
} from "../../ffi/openat";
import { typeOf, walkTree } from "../image/fd-walk";
import type { EntryType, TarEntry, TarHandler } from "../image/tar";
import { END_OF_ARCHIVE, padding, tarHeader } from "../image/tar-write";

/** A path as a list of names: "/a//b/./c/" -> ["a", "b", "c"]; ".." is kept (openat2 confines it). */
export const components = (p: string) => p.split("/").filter((c) => c !== "" && c !== ".");

/** An O_PATH|O_DIRECTORY fd of `dir` (a path on the host, given by the user or our own store). */
export function openRoot(dir: string): number {
  return openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, 0, dir);
}

/**
 * An O_PATH fd of `path` inside the root at `rootFd`. With `follow` false, a symlink as the last
 * component is the symlink itself (its parent is still resolved, symlinks and all, inside the root).
 */
export function resolveInRoot(rootFd: number, path: string, follow: boolean): number {
  const parts = components(path);
  const last = parts[parts.length - 1];
  if (follow || last === undefined || last === "..") return openat2(rootFd, parts.join("/") || ".", O_PATH, RESOLVE_CONTAINED, path);
  const parent = openat2(rootFd, parts.slice(0, -1).join("/") || ".", O_PATH | O_DIRECTORY, RESOLVE_CONTAINED, path);
  try {
    return openat2(parent, last, O_PATH | O_NOFOLLOW, RESOLVE_CONFINED, path);
  } finally {
    closeSync(parent);
  }
}

/**
 * The path inside the root that `path` names once every symlink is followed (inside the root):
 * the kernel's own answer, the fd's /proc link, made relative to the root's.
 */
export function realPathInRoot(rootFd: number, path: string): string {
  const fd = resolveInRoot(rootFd, path, true);
  try {
    const root = readlinkSync(`/proc/self/fd/${rootFd}`);
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real.endsWith(" (deleted)")) throw new Error(`${path}: removed while it was being resolved`);
    if (real === root) return "/";
    if (!real.startsWith(root === "/" ? "/" : `${root}/`)) throw new Error(`${path}: resolved outside the container's root`);
    return root === "/" ? real : real.slice(root.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a write to `path` inside the root lands when its last component is a symlink, followed as
 * the kernel would inside the root, also when it dangles (docker's cp writes at the link's
 * target): each link's text taken relative to the real directory that holds it.
 */
export function followLinksInRoot(rootFd: number, path: string): string {
  let at = posix.resolve("/", path);
  for (let hops = 0; hops < 40; hops++) {
    if (at === "/" || !statInRoot(rootFd, at, false)?.isSymbolicLink()) return at;
    const dir = realPathInRoot(rootFd, posix.dirname(at));
    const dirFd = resolveInRoot(rootFd, dir, true);
    try {
      // the link's text, read through the directory's fd: the name is looked up in that directory only
      at = posix.resolve(dir, readlinkSync(`/proc/self/fd/${dirFd}/${posix.basename(at)}`));
    } finally {
      closeSync(dirFd);
    }
  }
  throw new Error(`${path}: too many levels of symbolic links`);
}

/** fstat of an fd, or undefined when `open` fails because nothing is there. */
export function statInRoot(rootFd: number, path: string, follow: boolean): Stats | undefined {
  let fd: number;
  try {
    fd = resolveInRoot(rootFd, path, follow);
  } catch (e) {
    if (["ENOENT", "ENOTDIR"].includes((e as { code?: string }).code ?? "")) return undefined;
    throw e;
  }
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The tar stream of what the O_PATH fd `fd` is: named `top` (a directory's entries below it as
 * `top/...`), or with `top` undefined a directory's entries only (docker's `SRC/.`). Chunks are
 * valid until the next one is requested.
 */
export function* tarOfEntry(fd: number, top: string | undefined): Generator<Uint8Array> {
  const st = fstatSync(fd);
  const type = typeOf(st);
  const buf = Buffer.allocUnsafe(1 << 20);
  const meta = (s: Stats) => ({ mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtime: Math.floor(s.mtimeMs / 1000) });
  if (type !== "dir") {
    if (top === undefined) throw new Error("not a directory");
    yield* single(fd, st, top, type, buf);
    yield END_OF_ARCHIVE;
    return;
  }
  if (top !== undefined) yield tarHeader({ ...meta(st), name: top, type: "dir" });
  const links = new Map<string, string>(); // "dev:ino" -> first name (hard links)
  const prefix = top === undefined ? "" : `${top}/`;
  // the walk starts from the very directory `fd` is (a magic link of our own fd: no name looked up)
  for (const e of walkTree(`/proc/self/fd/${fd}`)) {
    const name = prefix + e.path;
    const s = e.stat;
    if (e.type === "socket") continue;
    if (e.type !== "dir" && s.nlink > 1) {
      const key = `${s.dev}:${s.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        yield tarHeader({ ...meta(s), name, type: "link", linkname: first });
        continue;
      }
      links.set(key, name);
    }
    if (e.type === "dir") yield tarHeader({ ...meta(s), name, type: "dir" });
    else if (e.type === "file") {
      yield tarHeader({ ...meta(s), name, type: "file", size: s.size });
      yield* e.content(buf);
      yield padding(s.size);
    } else if (e.type === "symlink") yield tarHeader({ ...meta(s), name, type: "symlink", linkname: e.linkTarget() });
    else {
      const { major, minor } = splitDev(s.rdev);
      yield tarHeader({ ...meta(s), name, type: e.type, devmajor: major, devminor: minor });
    }
  }
  yield END_OF_ARCHIVE;
}

function* single(fd: number, st: Stats, name: string, type: EntryType | "socket", buf: Buffer): Generator<Uint8Array> {
  const meta = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (type === "socket") throw new Error(`${name} is a socket: a tar cannot hold it`);
  if (type === "symlink") return yield tarHeader({ ...meta, name, type, linkname: readlinkat(fd, "") });
  if (type !== "file") {
    const { major, minor } = splitDev(st.rdev);
    return yield tarHeader({ ...meta, name, type, devmajor: major, devminor: minor });
  }
  // a regular file: reopened through our own O_PATH fd (the inode fstat saw, whatever its name is now)
  const procFds = openat2(AT_FDCWD, "/proc/self/fd", O_PATH | O_DIRECTORY, 0);
  let file: number;
  try {
    file = openat2(procFds, String(fd), O_RDONLY | O_NOCTTY, 0, name);
  } finally {
    closeSync(procFds);
  }
  try {
    const now = fstatSync(file);
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw new Error(`${name}: reopening its fd gave another file`);
    yield tarHeader({ ...meta, name, type, size: st.size });
    const { readSync } = require("node:fs") as typeof import("node:fs");
    for (let pos = 0; pos < st.size; ) {
      const n = readSync(file, buf, 0, Math.min(buf.length, st.size - pos), pos);
      if (n <= 0) throw new Error(`${name} shrank while it was being read`);
      yield buf.subarray(0, n);
      pos += n;
    }
    yield padding(st.size);
  } finally {
    closeSync(file);
  }
}

export interface UnpackOptions {
  /** keep the archive's uid/gid (cp -a); else everything belongs to `owner` */
  keepOwners: boolean;
  owner?: { uid: number; gid: number };
}

const MODE_BITS: Partial<Record<EntryType, number>> = { fifo: S_IFIFO, char: S_IFCHR, block: S_IFBLK };

/**
 * Unpacks a tar stream into `dir` (a path inside the root at `rootFd`, resolved there for every
 * entry). Names with ".." are refused; a hard link's target is resolved inside the root too.
 */
export class RootedUnpacker implements TarHandler {
  private file = -1;
  private pending?: { entry: TarEntry; uid: number; gid: number };
  /** entries unpacked */
  count = 0;

  constructor(private readonly rootFd: number, private readonly dir: string, private readonly opts: UnpackOptions) {}

  entry(e: TarEntry): void {
    const parts = components(e.name);
    if (parts.includes("..")) throw new Error(`refusing archive entry ${JSON.stringify(e.name)}: it names ".."`);
    if (parts.length === 0) return; // "./": the directory itself, which exists
    const uid = this.opts.keepOwners ? e.uid : (this.opts.owner?.uid ?? 0);
    const gid = this.opts.keepOwners ? e.gid : (this.opts.owner?.gid ?? 0);
    const name = parts[parts.length - 1]!;
    const parent = openat2(this.rootFd, posix.join(this.dir, ...parts.slice(0, -1)).slice(1) || ".", O_PATH | O_DIRECTORY, RESOLVE_CONTAINED, e.name);
    try {
      if (this.clear(parent, name, e) === "keep-dir") return this.setDir(parent, name, e, uid, gid);
      switch (e.type) {
        case "dir":
          mkdirat(parent, name, 0o700);
          return this.setDir(parent, name, e, uid, gid);
        case "file":
          this.file = openatCreate(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
          this.pending = { entry: e, uid, gid };
          return;
        case "symlink":
          symlinkat(e.linkname, parent, name);
          return fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        case "link": {
          const target = resolveInRoot(this.rootFd, posix.join(this.dir, ...components(e.linkname)), false);
          try {
            return linkat(target, "", parent, name, AT_EMPTY_PATH);
          } finally {
            closeSync(target);
          }
        }
        default:
          mknodat(parent, name, MODE_BITS[e.type]! | (e.mode & 0o7777), e.type === "fifo" ? 0n : makedev(e.devmajor, e.devminor));
          fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW);
      }
    } finally {
      closeSync(parent);
      this.count++;
    }
  }

  data(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; ) off += writeSync(this.file, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    if (this.file < 0) return;
    const { entry, uid, gid } = this.pending!;
    try {
      fchownSync(this.file, uid, gid);
      fchmodSync(this.file, entry.mode & 0o7777); // after chown, which clears setuid bits
      futimesSync(this.file, entry.mtime, entry.mtime);
    } finally {
      closeSync(this.file);
      this.file = -1;
      this.pending = undefined;
    }
  }

  /** Closes a file left open by a stream that ended in the middle of it. */
  close(): void {
    if (this.file >= 0) closeSync(this.file);
    this.file = -1;
  }

  /**
   * Makes room for `name`: an existing directory stays when a directory comes (merged into, as
   * docker does); anything else is removed, never followed. A directory is not replaced by a
   * non-directory.
   */
  private clear(parent: number, name: string, e: TarEntry): "keep-dir" | "clear" {
    let fd: number;
    try {
      fd = openat2(parent, name, O_PATH | O_NOFOLLOW, RESOLVE_CONFINED, e.name);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return "clear";
      throw err;
    }
    let isDir: boolean;
    try {
      isDir = fstatSync(fd).isDirectory();
    } finally {
      closeSync(fd);
    }
    if (isDir && e.type === "dir") return "keep-dir";
    if (isDir) throw new Error(`cannot overwrite directory ${JSON.stringify(e.name)} with non-directory`);
    unlinkat(parent, name);
    return "clear";
  }

  private setDir(parent: number, name: string, e: TarEntry, uid: number, gid: number): void {
    const fd = openat2(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_CONFINED, e.name);
    try {
      fchownSync(fd, uid, gid);
      fchmodSync(fd, e.mode & 0o7777);
    } finally {
      closeSync(fd);
    }
  }
}
