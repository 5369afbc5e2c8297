// A depth-first walk of a directory tree that may change while we read it (a running container's
// layer), which never reads outside it. The root is opened once; every entry is then opened with
// openat2(2) relative to its parent's fd, one component, O_PATH|O_NOFOLLOW and RESOLVE_BENEATH |
// NO_SYMLINKS | NO_MAGICLINKS, and described by fstat(2) of that fd: a symlink is the symlink, never
// what it points to. A directory is listed (getdents64) and descended from an fd opened on that very
// inode (openat2 of "." beneath its O_PATH fd), so a directory swapped for a symlink after we saw it
// changes nothing: we go on reading the directory we had, wherever it was moved to.
//
// Regular files are read through an fd opened from `/proc/self/fd/N` of their O_PATH fd. Why that
// is safe: proc(5) says opening such a link opens the file the descriptor refers to; the kernel
// jumps to the fd's own dentry and mount (no name is looked up in the walked tree), so the new fd
// is the inode fstat showed as a regular file (an inode's type never changes). We still compare
// dev:ino and the type after opening. Opening by name instead could open a device node swapped in
// meanwhile (opening /dev/watchdog alone has effects). Device nodes and FIFOs are never opened.
import { closeSync, fstatSync, readSync, type Stats } from "node:fs";
import {
  AT_FDCWD, O_DIRECTORY, O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY, RESOLVE_CONFINED, getXattr, listXattrs, openat2, readDirNames, readlinkat,
} from "../../ffi/openat";
import type { EntryType } from "./tar";

/** One entry of the walk; its fds are valid until the walk resumes. */
export class TreeEntry {
  /** what fstat says the entry is; "socket" for sockets (a tar cannot hold them) */
  readonly type: EntryType | "socket";
  /** O_RDONLY fd of a directory (the walk descends from it) */
  dirFd = -1;
  private fileFd = -1;

  constructor(
    /** "/"-separated, relative to the root */
    readonly path: string,
    /** the entry's own stat (a symlink's, not its target's) */
    readonly stat: Stats,
    private readonly parentFd: number,
    private readonly rawName: Buffer,
    private pathFd: number,
    /** O_PATH fd of /proc/self/fd */
    private readonly procFds: number,
  ) {
    this.type = typeOf(stat);
  }

  /** The target of a symlink (readlinkat on the symlink's own fd). */
  linkTarget(): string {
    return readlinkat(this.pathFd, "");
  }

  /** One extended attribute, or undefined. */
  xattr(key: string): Buffer | undefined {
    return this.orGone(undefined, (target) => getXattr(target, key));
  }

  /** Every extended attribute but those `skip` names, sorted by name. */
  xattrs(skip: (key: string) => boolean = () => false): [string, Buffer][] {
    return this.orGone([], (target) => {
      const out: [string, Buffer][] = [];
      for (const k of listXattrs(target).sort()) {
        if (skip(k)) continue;
        const v = getXattr(target, k);
        if (v !== undefined) out.push([k, v]);
      }
      return out;
    });
  }

  /** A regular file's content, `stat.size` bytes, as chunks of `buf` valid until the next. */
  *content(buf: Buffer): Generator<Uint8Array> {
    const fd = this.openFile();
    const size = this.stat.size;
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n <= 0) throw new Error(`${this.path} shrank while it was being read`);
      yield buf.subarray(0, n);
      pos += n;
    }
  }

  /** Opens the directory itself for reading (the walk does this before it yields a directory). */
  openDir(): number {
    return (this.dirFd = openat2(this.pathFd, ".", O_RDONLY | O_DIRECTORY, RESOLVE_CONFINED, this.path));
  }

  close(): void {
    for (const fd of [this.fileFd, this.dirFd, this.pathFd]) if (fd >= 0) closeSync(fd);
    this.fileFd = this.dirFd = this.pathFd = -1;
  }

  /** Files and directories: their own fd; anything else: parent fd + name, last component not followed. */
  private xattrTarget(): number | Buffer {
    if (this.type === "dir") return this.dirFd;
    if (this.type === "file") return this.openFile();
    // l*xattr(2) on /proc/self/fd/<parent>/<name>: the parent is the directory we hold, and the name
    // is one component that is not followed. (getxattr has no fd-relative form before Linux 6.13.)
    return Buffer.concat([Buffer.from(`/proc/self/fd/${this.parentFd}/`), this.rawName]);
  }

  /** Reads by name may find the entry gone (renamed or removed since we opened it): then `gone`. */
  private orGone<T>(gone: T, read: (target: number | Buffer) => T): T {
    const target = this.xattrTarget();
    try {
      return read(target);
    } catch (e) {
      if (typeof target !== "number" && (e as { code?: string }).code === "ENOENT") return gone;
      throw e;
    }
  }

  private openFile(): number {
    if (this.fileFd >= 0) return this.fileFd;
    if (this.type !== "file") throw new Error(`${this.path} is not a regular file`);
    const fd = openat2(this.procFds, String(this.pathFd), O_RDONLY | O_NOCTTY, 0, this.path);
    const st = fstatSync(fd);
    if (!st.isFile() || st.ino !== this.stat.ino || st.dev !== this.stat.dev) {
      closeSync(fd);
      throw new Error(`${this.path}: reopening its fd gave another file`);
    }
    return (this.fileFd = fd);
  }
}

/**
 * Every entry below `root` (not the root itself), depth-first, names sorted as strings in each
 * directory; a directory is yielded before its contents. An entry that disappears between the
 * listing and its opening is left out.
 */
export function* walkTree(root: string): Generator<TreeEntry> {
  const procFds = openat2(AT_FDCWD, "/proc/self/fd", O_PATH | O_DIRECTORY, 0);
  let rootFd: number;
  try {
    rootFd = openat2(AT_FDCWD, root, O_RDONLY | O_DIRECTORY, 0, root);
  } catch (e) {
    closeSync(procFds);
    throw e;
  }
  const dents = Buffer.allocUnsafe(64 * 1024);
  function* walk(dirFd: number, rel: string): Generator<TreeEntry> {
    // a directory removed after we opened it: getdents64 says ENOENT, it has nothing left
    const names = (openOrGone(() => readDirNames(dirFd, dents)) ?? []).map((raw) => [raw.toString(), raw] as const);
    names.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, raw] of names) {
      const path = rel ? `${rel}/${name}` : name;
      const pathFd = openOrGone(() => openat2(dirFd, raw, O_PATH | O_NOFOLLOW, RESOLVE_CONFINED, path));
      if (pathFd === undefined) continue;
      const entry = new TreeEntry(path, fstatSync(pathFd), dirFd, raw, pathFd, procFds);
      try {
        if (entry.type !== "dir") {
          yield entry;
          continue;
        }
        if (openOrGone(() => entry.openDir()) === undefined) continue; // removed in between
        yield entry;
        yield* walk(entry.dirFd, path);
      } finally {
        entry.close();
      }
    }
  }
  try {
    yield* walk(rootFd, "");
  } finally {
    closeSync(rootFd);
    closeSync(procFds);
  }
}

/**
 * Whether `rel` names something in the tree at `rootFd` without crossing a symlink or leaving it
 * (the last component may itself be a symlink).
 */
export function existsBeneath(rootFd: number, rel: string): boolean {
  const fd = openOrGone(() => openat2(rootFd, rel, O_PATH | O_NOFOLLOW, RESOLVE_CONFINED, rel), ["ENOENT", "ENOTDIR", "ELOOP", "EXDEV"]);
  if (fd === undefined) return false;
  closeSync(fd);
  return true;
}

/** Runs `open`; undefined when it failed because the thing is gone (or, with `codes`, for those). */
function openOrGone<T>(open: () => T, codes = ["ENOENT"]): T | undefined {
  try {
    return open();
  } catch (e) {
    if (codes.includes((e as { code?: string }).code ?? "")) return undefined;
    throw e;
  }
}

/** The kind of file a stat describes, in the tar writer's words. */
export function typeOf(st: Stats): EntryType | "socket" {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}
