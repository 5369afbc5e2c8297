// Calls relative to an open directory fd, for walking a tree that someone else (a running
// container) may change under us: openat2(2) confined beneath a directory with no symlink
// followed, getdents64(2), readlinkat(2), and extended attributes read through an fd.
import { closeSync, constants as C } from "node:fs";
import { FFIType, check, cstr, lastErrno, libc } from "./libc";
import { SyscallError } from "./errno";

const sym = libc({
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  openat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  getdents64: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  readlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  flistxattr: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  fgetxattr: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  llistxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  mkdirat: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  symlinkat: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  unlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  fchownat: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  linkat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  mknodat: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
});

export const AT_FDCWD = -100;
// <fcntl.h>: O_PATH and O_CLOEXEC are the same on x86_64 and arm64; O_DIRECTORY and O_NOFOLLOW
// are not, so they come from node's constants.
export const O_RDONLY = C.O_RDONLY;
export const O_DIRECTORY = C.O_DIRECTORY;
export const O_NOFOLLOW = C.O_NOFOLLOW;
export const O_NOCTTY = C.O_NOCTTY;
export const O_PATH = 0o10000000;
export const O_WRONLY = C.O_WRONLY;
export const O_CREAT = C.O_CREAT;
export const O_EXCL = C.O_EXCL;
export const O_TRUNC = C.O_TRUNC;
// <fcntl.h>
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const O_CLOEXEC = 0o2000000;

// <linux/openat2.h>
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
/** Resolve as if `dirfd` were `/` (chroot-like): "..", absolute paths and absolute symlinks stay inside. */
export const RESOLVE_IN_ROOT = 0x10;
/** A path inside a container's root: symlinks followed, but never out of the root; no /proc magic links. */
export const RESOLVE_CONTAINED = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
/** No symlink of any kind, and nothing outside the starting directory ("..", absolute paths). */
export const RESOLVE_CONFINED = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

const SYS_openat2 = 437; // same number on every architecture
const OPEN_HOW_SIZE = 24; // struct open_how { u64 flags; u64 mode; u64 resolve; }
const ENOSYS = 38;
const ERANGE = 34;
const ENODATA = 61;

let noOpenat2 = false;

const pathBytes = (p: string | Buffer): Uint8Array => (typeof p === "string" ? cstr(p) : Buffer.concat([p, Buffer.from([0])]));

/**
 * openat2(2) with `resolve` flags. Where the kernel or a seccomp filter lacks openat2 (ENOSYS),
 * RESOLVE_CONFINED is emulated: one openat(2) per component, each O_NOFOLLOW, ".." refused.
 */
export function openat2(dirfd: number, path: string | Buffer, flags: number, resolve: number, what?: string): number {
  const name = `openat2 ${what ?? path.toString()}`;
  if (!noOpenat2) {
    const how = Buffer.alloc(OPEN_HOW_SIZE);
    how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    const rc = Number(sym().syscall(SYS_openat2, dirfd, pathBytes(path), how, OPEN_HOW_SIZE));
    if (rc >= 0) return rc;
    const errno = lastErrno();
    if (errno !== ENOSYS) throw new SyscallError(name, errno);
    noOpenat2 = true;
  }
  if (resolve === 0) return check(name, sym().openat(dirfd, pathBytes(path), flags | O_CLOEXEC, 0));
  if (resolve !== RESOLVE_CONFINED) throw new SyscallError(name, ENOSYS);
  return openConfinedByComponents(dirfd, typeof path === "string" ? Buffer.from(path) : path, flags, name);
}

function openConfinedByComponents(dirfd: number, path: Buffer, flags: number, name: string): number {
  if (path[0] === 0x2f) throw new SyscallError(name, 18 /* EXDEV, as RESOLVE_BENEATH */);
  const parts: Buffer[] = [];
  for (let i = 0, start = 0; i <= path.length; i++) {
    if (i < path.length && path[i] !== 0x2f) continue;
    const c = path.subarray(start, i);
    start = i + 1;
    if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
    if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) throw new SyscallError(name, 18);
    parts.push(c);
  }
  if (parts.length === 0) parts.push(Buffer.from("."));
  let fd = dirfd;
  try {
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const f = last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW;
      const next = check(name, sym().openat(fd, pathBytes(parts[i]!), f | O_CLOEXEC, 0));
      if (fd !== dirfd) closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (e) {
    if (fd !== dirfd) closeSync(fd);
    throw e;
  }
}

/** The names in the directory open at `fd` (getdents64(2)), "." and ".." left out, as raw bytes. */
export function readDirNames(fd: number, buf: Buffer = Buffer.allocUnsafe(64 * 1024)): Buffer[] {
  const names: Buffer[] = [];
  for (;;) {
    const n = Number(check("getdents64", sym().getdents64(fd, buf, buf.length)));
    if (n === 0) return names;
    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    for (let off = 0; off < n; ) {
      const reclen = buf.readUInt16LE(off + 16);
      const start = off + 19;
      const end = buf.indexOf(0, start);
      const name = buf.subarray(start, end);
      if (!(name.length === 1 && name[0] === 0x2e) && !(name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
        names.push(Buffer.from(name));
      }
      off += reclen;
    }
  }
}

/** readlinkat(2) of `name` in `dirfd`; with "" and an O_PATH fd of a symlink, that symlink's target. */
export function readlinkat(dirfd: number, name: string | Buffer = ""): string {
  const p = pathBytes(name);
  for (let size = 256; ; size *= 4) {
    const buf = Buffer.allocUnsafe(size);
    const n = Number(check("readlinkat", sym().readlinkat(dirfd, p, buf, size)));
    if (n < size) return buf.subarray(0, n).toString();
  }
}

/** Extended attribute names, by fd (flistxattr) or by a path whose last component is not followed (llistxattr). */
export function listXattrs(target: number | Buffer): string[] {
  const list = (buf: Buffer | null, size: number) =>
    Number(typeof target === "number" ? sym().flistxattr(target, buf, size) : sym().llistxattr(pathBytes(target), buf, size));
  for (;;) {
    const size = Number(check("listxattr", list(null, 0)));
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const n = list(buf, size);
    if (n === -1 && lastErrno() === ERANGE) continue; // grew in between
    check("listxattr", n);
    return buf.subarray(0, n).toString("latin1").split("\0").filter(Boolean).map((s) => Buffer.from(s, "latin1").toString());
  }
}

/** One extended attribute's value (fgetxattr or lgetxattr), or undefined when it is not set. */
export function getXattr(target: number | Buffer, key: string): Buffer | undefined {
  const k = cstr(key);
  const get = (buf: Buffer | null, size: number) =>
    Number(typeof target === "number" ? sym().fgetxattr(target, k, buf, size) : sym().lgetxattr(pathBytes(target), k, buf, size));
  for (;;) {
    const size = get(null, 0);
    if (size === -1) {
      const errno = lastErrno();
      if (errno === ENODATA) return undefined;
      throw new SyscallError(`getxattr ${key}`, errno);
    }
    const buf = Buffer.alloc(size);
    const got = get(size ? buf : null, size);
    if (got === -1 && lastErrno() === ERANGE) continue;
    check(`getxattr ${key}`, got);
    return buf.subarray(0, got);
  }
}

// ---------------------------------------------------------------- creating relative to a directory fd
// Each takes the directory's fd and ONE name in it: no path is looked up, so nothing that changes
// under us (a running container's symlinks) can redirect the call; the caller resolved the
// directory itself (openat2 with RESOLVE_IN_ROOT).

/** openat(2) of `name` in `dirfd` with O_CREAT's `mode` (umask applies); O_CLOEXEC added. */
export function openatCreate(dirfd: number, name: string | Buffer, flags: number, mode: number): number {
  return check(`openat ${name}`, sym().openat(dirfd, pathBytes(name), flags | O_CLOEXEC, mode));
}

/** mkdirat(2). */
export function mkdirat(dirfd: number, name: string | Buffer, mode: number): void {
  check(`mkdirat ${name}`, sym().mkdirat(dirfd, pathBytes(name), mode));
}

/** symlinkat(2): `name` in `dirfd`, pointing at `target` (stored as is, never resolved here). */
export function symlinkat(target: string, dirfd: number, name: string | Buffer): void {
  check(`symlinkat ${name}`, sym().symlinkat(pathBytes(target), dirfd, pathBytes(name)));
}

/** unlinkat(2); with AT_REMOVEDIR, rmdir. */
export function unlinkat(dirfd: number, name: string | Buffer, flags = 0): void {
  check(`unlinkat ${name}`, sym().unlinkat(dirfd, pathBytes(name), flags));
}

/** fchownat(2); `name` "" with AT_EMPTY_PATH changes the fd itself. */
export function fchownat(dirfd: number, name: string | Buffer, uid: number, gid: number, flags: number): void {
  check(`fchownat ${name}`, sym().fchownat(dirfd, pathBytes(name), uid, gid, flags));
}

/** linkat(2); with AT_EMPTY_PATH and "" as the old name, a hard link to the file `oldDirfd` is open on. */
export function linkat(oldDirfd: number, oldName: string | Buffer, newDirfd: number, newName: string | Buffer, flags: number): void {
  check(`linkat ${newName}`, sym().linkat(oldDirfd, pathBytes(oldName), newDirfd, pathBytes(newName), flags));
}

/** mknodat(2) of a FIFO or device node (`mode` holds S_IF*; `dev` from makedev). */
export function mknodat(dirfd: number, name: string | Buffer, mode: number, dev: bigint): void {
  check(`mknodat ${name}`, sym().mknodat(dirfd, pathBytes(name), mode, dev));
}
