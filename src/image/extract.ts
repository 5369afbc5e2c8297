// Unpacks a tar stream (a TarHandler fed by TarParser) into a new directory, confining every entry
// to it: absolute names and ".." are refused, each parent component is lstat'ed and must be a real
// directory (a symlink made by the archive is never followed), files are created with
// O_CREAT|O_EXCL|O_NOFOLLOW, hard links must point inside. Owners, modes (setuid, sticky), mtimes,
// hard links, symlinks, FIFOs, devices and xattrs are kept.
//
// Only the archive changes the target while we extract, one entry after another, so what an
// entry checked stays true until a later entry replaces it (remove() forgets what it removes).
// Directories are the exception: their times are set at the end, after any later entry may have
// replaced them or a parent with a symlink. So a directory's owner, mode, xattrs and times are
// set through an fd opened beneath the root with no symlink followed (openat2 RESOLVE_BENEATH |
// NO_SYMLINKS), and a directory that is no longer there at the end is skipped.
//
// With `whiteouts`, AUFS-style whiteouts become overlayfs ones, so the directory can be an overlay
// lowerdir: `.wh.NAME` -> a 0:0 character device NAME, `.wh..wh..opq` -> xattr
// trusted.overlay.opaque=y on its directory.
import {
  chmodSync, closeSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, renameSync, symlinkSync, unlinkSync, writeSync, constants as C, type Stats,
} from "node:fs";
import { fsetxattr, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../../ffi/fs";
import { AT_FDCWD, O_DIRECTORY, O_PATH, O_RDONLY, RESOLVE_CONFINED, openat2 } from "../../ffi/openat";
import type { TarEntry, TarHandler } from "./tar";
import { removeTree } from "../fsutil";
import type { TarSplitWriter } from "./tar-split";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
export const OPAQUE_XATTR = "trusted.overlay.opaque";

/** A refused or failed entry; one line naming it. */
export class ExtractError extends Error {
  override name = "ExtractError";
}

export interface ExtractOptions {
  /** convert `.wh.` entries to overlayfs whiteouts (image layers) */
  whiteouts?: boolean;
  /** character and block devices: create them (default), leave them out, or refuse the archive */
  devices?: "create" | "skip" | "refuse";
  /** records the non-content bytes so the tar can be rebuilt (layers) */
  split?: TarSplitWriter;
  /** with `split`: where a recorded file goes when a later entry replaces it */
  shadowDir?: string;
}

const O_CLOEXEC = 0o2000000;
const FILE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | O_CLOEXEC;

const lstatOrUndefined = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });

export class Extractor implements TarHandler {
  /** entries seen */
  entries = 0;
  /** bytes of regular-file content written */
  contentBytes = 0;
  private fd = -1;
  private cur?: TarEntry;
  private curPath = "";
  /** relative paths known to be real directories ("" is the root) */
  private dirs = new Set<string>([""]);
  /** directory times by relative path, set at the end (creating children changes them) */
  private dirTimes = new Map<string, [atime: number, mtime: number]>();
  /** O_PATH fd of the root, opened on first use */
  private rootFd = -1;
  /** relative path -> tar-split record of the content written there */
  private recorded = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly opts: ExtractOptions = {},
  ) {}

  raw(bytes: Uint8Array): void {
    this.opts.split?.raw(bytes);
  }

  entry(e: TarEntry): void {
    this.entries++;
    this.cur = e;
    try {
      this.create(e);
    } catch (err) {
      throw this.wrap(err, e);
    }
  }

  data(chunk: Uint8Array): void {
    if (this.fd < 0) {
      this.opts.split?.raw(chunk); // content we do not keep (a whiteout's, a dumpdir's, ...)
      return;
    }
    try {
      for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (err) {
      throw this.wrap(err, this.cur!);
    }
  }

  entryEnd(): void {
    if (this.fd < 0) return;
    const e = this.cur!;
    try {
      fchownSync(this.fd, e.uid, e.gid);
      fchmodSync(this.fd, e.mode); // after chown, which clears setuid/setgid
      for (const [k, v] of this.xattrsOf(e)) fsetxattr(this.fd, k, v, this.curPath);
      futimesSync(this.fd, e.atime ?? e.mtime, e.mtime);
    } catch (err) {
      throw this.wrap(err, e);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.contentBytes += e.size;
  }

  /** Sets the directories' times; call once the stream is complete. */
  finish(): void {
    for (const [rel, [at, mt]] of this.dirTimes) {
      let fd: number;
      try {
        fd = this.openDir(rel);
      } catch (e) {
        // replaced since by something that is not a directory, or a symlink, or gone with a parent
        if (["ENOENT", "ENOTDIR", "ELOOP"].includes((e as { code?: string }).code ?? "")) continue;
        throw e;
      }
      try {
        futimesSync(fd, at, mt);
      } finally {
        closeSync(fd);
      }
    }
    this.dirTimes.clear();
    this.closeRoot();
  }

  /** Closes what an interrupted extraction left open (the caller removes the directory). */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.closeRoot();
  }

  // ---------------------------------------------------------------- entries

  private create(e: TarEntry): void {
    const parts = this.components(e.name, e);
    const base = parts[parts.length - 1];
    if (this.opts.whiteouts && base?.startsWith(WHITEOUT_PREFIX)) return this.whiteout(e, parts, base);
    if (parts.length === 0) {
      if (e.type !== "dir") throw new ExtractError(`refusing archive entry "${e.name}": only a directory can be the root`);
      this.dirMetadata("", e);
      return;
    }
    const rel = parts.join("/");
    const parent = this.ensureDirs(parts.slice(0, -1), e);
    const abs = `${parent}/${base}`;
    const existing = lstatOrUndefined(abs);
    if (e.type === "dir") {
      if (existing?.isDirectory()) {
        this.dirMetadata(rel, e);
        return;
      }
      if (existing) this.remove(rel, abs, existing);
      mkdirSync(abs, 0o700);
      this.dirs.add(rel);
      this.dirMetadata(rel, e);
      return;
    }
    if (e.type === "link") return this.hardlink(e, rel, abs, existing);
    if (existing) this.remove(rel, abs, existing);
    switch (e.type) {
      case "file":
        this.fd = openSync(abs, FILE_FLAGS, 0o600);
        this.curPath = abs;
        if (this.opts.split && e.size > 0) this.recorded.set(rel, this.opts.split.file(rel, e.size));
        return; // metadata once the content is written (entryEnd)
      case "symlink":
        symlinkSync(e.linkname, abs);
        break;
      case "fifo":
        mknod(abs, S_IFIFO | e.mode, 0, 0);
        break;
      case "char":
      case "block": {
        const devices = this.opts.devices ?? "create";
        if (devices === "refuse") throw new ExtractError(`refusing archive entry "${e.name}": device nodes are not allowed here`);
        if (devices === "skip") return;
        mknod(abs, (e.type === "char" ? S_IFCHR : S_IFBLK) | e.mode, e.devmajor, e.devminor);
        break;
      }
    }
    this.metadata(abs, e);
  }

  private hardlink(e: TarEntry, rel: string, abs: string, existing: Stats | undefined): void {
    const refuse = (why: string) => new ExtractError(`refusing hard link "${e.name}" to "${e.linkname}": ${why}`);
    const target = this.components(e.linkname, e, "hard link target");
    if (target.length === 0) throw refuse("it points at the root directory");
    const targetRel = target.join("/");
    if (targetRel === rel) return;
    let dir = this.root;
    for (let i = 0; i < target.length - 1; i++) {
      dir = `${dir}/${target[i]}`;
      const st = lstatOrUndefined(dir);
      if (!st) throw refuse("its target does not exist in the archive");
      if (st.isSymbolicLink()) throw refuse(`"${target.slice(0, i + 1).join("/")}" is a symlink`);
      if (!st.isDirectory()) throw refuse(`"${target.slice(0, i + 1).join("/")}" is not a directory`);
    }
    const targetAbs = `${dir}/${target[target.length - 1]}`;
    const st = lstatOrUndefined(targetAbs);
    if (!st) throw refuse("its target does not exist in the archive");
    if (st.isDirectory()) throw refuse("its target is a directory");
    if (existing) this.remove(rel, abs, existing);
    linkSync(targetAbs, abs); // link(2) does not follow a symlink target: the link is to the symlink
  }

  private whiteout(e: TarEntry, parts: string[], base: string): void {
    const dir = this.ensureDirs(parts.slice(0, -1), e);
    if (base === OPAQUE_MARKER) {
      this.withDir(parts.slice(0, -1).join("/"), (fd) => fsetxattr(fd, OPAQUE_XATTR, Buffer.from("y"), dir));
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // AUFS metadata (.wh..wh.plnk, ...): not content
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") throw new ExtractError(`refusing archive entry "${e.name}": bad whiteout`);
    const rel = [...parts.slice(0, -1), name].join("/");
    const abs = `${dir}/${name}`;
    const existing = lstatOrUndefined(abs);
    if (existing) this.remove(rel, abs, existing);
    mknod(abs, S_IFCHR, 0, 0);
    lchownSync(abs, e.uid, e.gid);
  }

  // ---------------------------------------------------------------- paths

  /** The path's components, refusing absolute names and "..". */
  private components(name: string, e: TarEntry, what = "archive entry"): string[] {
    const refuse = (why: string) =>
      new ExtractError(what === "archive entry" ? `refusing archive entry "${name}": ${why}` : `refusing hard link "${e.name}" to "${name}": ${why}`);
    if (name.startsWith("/")) throw refuse("absolute path");
    const parts: string[] = [];
    for (const c of name.split("/")) {
      if (c === "" || c === ".") continue;
      if (c === "..") throw refuse(`".." would escape the target directory`);
      parts.push(c);
    }
    return parts;
  }

  /** Makes sure each component is a real directory under the root (creating missing ones); returns the absolute path. */
  private ensureDirs(parts: string[], e: TarEntry): string {
    let rel = "";
    let abs = this.root;
    for (const c of parts) {
      rel = rel ? `${rel}/${c}` : c;
      abs = `${abs}/${c}`;
      if (this.dirs.has(rel)) continue;
      const st = lstatOrUndefined(abs);
      if (!st) mkdirSync(abs, 0o755);
      else if (st.isSymbolicLink()) throw new ExtractError(`refusing archive entry "${e.name}": its parent "${rel}" is a symlink`);
      else if (!st.isDirectory()) throw new ExtractError(`archive entry "${e.name}": its parent "${rel}" is not a directory`);
      this.dirs.add(rel);
    }
    return abs;
  }

  /** Removes what a later entry replaces, keeping recorded content reachable for tar-split. */
  private remove(rel: string, abs: string, st: Stats): void {
    if (st.isDirectory()) {
      const prefix = `${rel}/`;
      for (const [p, n] of this.recorded) if (p.startsWith(prefix)) this.shadow(p, n);
      for (const d of this.dirs) if (d === rel || d.startsWith(prefix)) this.dirs.delete(d);
      for (const d of this.dirTimes.keys()) if (d === rel || d.startsWith(prefix)) this.dirTimes.delete(d);
      removeTree(abs);
      return;
    }
    const n = this.recorded.get(rel);
    if (n !== undefined) this.shadow(rel, n);
    else unlinkSync(abs);
  }

  private shadow(rel: string, n: number): void {
    this.recorded.delete(rel);
    if (!this.opts.shadowDir) throw new ExtractError(`archive entry "${rel}" appears twice`);
    mkdirSync(this.opts.shadowDir, { recursive: true, mode: 0o700 });
    renameSync(`${this.root}/${rel}`, `${this.opts.shadowDir}/${n}`);
  }

  // ---------------------------------------------------------------- metadata

  private xattrsOf(e: TarEntry): [string, Buffer][] {
    // trusted.overlay.* would steer overlayfs (opaque, redirect, metacopy): only whiteouts set them
    return [...e.xattrs].filter(([k]) => !k.startsWith("trusted.overlay."));
  }

  /** A directory's owner, mode and xattrs now, through an fd; its times at the end (finish). */
  private dirMetadata(rel: string, e: TarEntry): void {
    this.withDir(rel, (fd) => {
      fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode); // after chown, which clears setgid
      for (const [k, v] of this.xattrsOf(e)) fsetxattr(fd, k, v, rel || ".");
    });
    this.dirTimes.delete(rel); // a later entry for the same directory: its time wins, and is set last
    this.dirTimes.set(rel, [e.atime ?? e.mtime, e.mtime]);
  }

  /** Anything but a directory or a regular file (those have an fd): it was made or checked just now. */
  private metadata(abs: string, e: TarEntry): void {
    const atime = e.atime ?? e.mtime;
    lchownSync(abs, e.uid, e.gid);
    if (e.type === "symlink") {
      for (const [k, v] of this.xattrsOf(e)) {
        try {
          lsetxattr(abs, k, v);
        } catch (err) {
          if (!(k.startsWith("user.") && (err as { code?: string }).code === "EPERM")) throw err; // user.* is not allowed on symlinks
        }
      }
      lutimesSync(abs, atime, e.mtime);
      return;
    }
    chmodSync(abs, e.mode); // abs is the node mknod(2) just made (it never follows a symlink)
    for (const [k, v] of this.xattrsOf(e)) lsetxattr(abs, k, v);
    lutimesSync(abs, atime, e.mtime);
  }

  /** O_RDONLY fd of the directory at `rel` ("" is the root), opened beneath the root with no symlink followed. */
  private openDir(rel: string): number {
    if (this.rootFd < 0) this.rootFd = openat2(AT_FDCWD, this.root, O_PATH | O_DIRECTORY, 0, this.root);
    return openat2(this.rootFd, rel || ".", O_RDONLY | O_DIRECTORY, RESOLVE_CONFINED, rel || ".");
  }

  private withDir(rel: string, fn: (fd: number) => void): void {
    const fd = this.openDir(rel);
    try {
      fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  private closeRoot(): void {
    if (this.rootFd >= 0) closeSync(this.rootFd);
    this.rootFd = -1;
  }

  private wrap(err: unknown, e: TarEntry): Error {
    if (err instanceof ExtractError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const msg = (err as Error).name === "SyscallError" ? (err as Error).message : (code ?? (err as Error).message);
    return new ExtractError(`cannot extract "${e.name}": ${msg}`);
  }
}
