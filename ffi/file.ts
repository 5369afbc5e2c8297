// Plain file calls (open, read, write, mkdir, statx, …) straight from libc, for the container's
// init: importing node:fs costs a Bun process about 1.8 ms before its first line runs (measured:
// a compiled hello-world with and without `import("node:fs")`), and every container start and
// every exec pays for its init. Errors are SyscallErrors ("open /x: ENOENT"), whose `code` is the
// errno name, as node's are.
import { SyscallError } from "./errno";
import { FFIType, check, cstr, lastErrno, libc } from "./libc";

const sym = libc({
  open: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  openat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  mkdir: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  access: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  symlink: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  chown: { args: [FFIType.ptr, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
  readlink: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
});

// <fcntl.h>
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
const EINTR = 4;
const EEXIST = 17;
const F_OK = 0;
export const X_OK = 1;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_TYPE = 0x1;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** open(2), close-on-exec unless `inherit`; "r"/"w" as node spells them ("w": create and truncate). */
export function open(path: string, flags: "r" | "w" | number, mode = 0o666, inherit = false): number {
  const f = flags === "r" ? O_RDONLY : flags === "w" ? O_WRONLY | O_CREAT | O_TRUNC : flags;
  return check(`open ${path}`, sym().open(cstr(path), f | (inherit ? 0 : O_CLOEXEC), mode));
}

export function close(fd: number): void {
  sym().close(fd);
}

/** read(2) into `buf` (restarted on EINTR); 0 at end of file. */
export function read(fd: number, buf: Buffer): number {
  for (;;) {
    const n = Number(sym().read(fd, buf, buf.length));
    if (n === -1 && lastErrno() === EINTR) continue;
    return check(`read fd ${fd}`, n);
  }
}

/** write(2) of all of `data`. */
export function write(fd: number, data: string | Buffer): void {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  for (let off = 0; off < b.length; ) {
    const n = Number(sym().write(fd, off ? b.subarray(off) : b, b.length - off));
    if (n === -1 && lastErrno() === EINTR) continue;
    off += check(`write fd ${fd}`, n);
  }
}

export function readText(path: string): string {
  const fd = open(path, "r");
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(8192);
    for (let n; (n = read(fd, buf)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    close(fd);
  }
}

/**
 * Writes `data` into the existing file at `path` relative to the directory `dirfd` (openat(2)):
 * a host file reached through an fd of the host's root after the pivot.
 */
export function writeTextAt(dirfd: number, path: string, data: string): void {
  const fd = check(`open ${path}`, sym().openat(dirfd, cstr(path), O_WRONLY | O_CLOEXEC, 0));
  try {
    write(fd, data);
  } finally {
    close(fd);
  }
}

/** Creates or truncates `path` (mode when created) and writes `data`. */
export function writeText(path: string, data: string, mode = 0o666): void {
  const fd = open(path, "w", mode);
  try {
    write(fd, data);
  } finally {
    close(fd);
  }
}

/** access(2) F_OK: does the path (through symlinks) exist? */
export const exists = (path: string): boolean => sym().access(cstr(path), F_OK) === 0;

export function access(path: string, mode: number): void {
  check(`access ${path}`, sym().access(cstr(path), mode));
}

/** mkdir(2); with `parents`, the missing ones too and no error when it exists (`mkdir -p`). */
export function mkdir(path: string, mode: number, parents = false): void {
  if (sym().mkdir(cstr(path), mode) === 0) return;
  const errno = lastErrno();
  if (parents && errno === EEXIST) return;
  if (parents && errno === 2 /* ENOENT */) {
    const parent = path.replace(/\/+[^/]*\/*$/, "");
    if (parent && parent !== path) {
      mkdir(parent, mode, true);
      if (sym().mkdir(cstr(path), mode) === 0 || lastErrno() === EEXIST) return;
      throw new SyscallError(`mkdir ${path}`, lastErrno());
    }
  }
  throw new SyscallError(`mkdir ${path}`, errno);
}

export function symlink(target: string, path: string): void {
  check(`symlink ${path}`, sym().symlink(cstr(target), cstr(path)));
}

export function chown(path: string, uid: number, gid: number): void {
  check(`chown ${path}`, sym().chown(cstr(path), uid, gid));
}

export function readlink(path: string): string {
  const buf = Buffer.alloc(4096);
  const n = check(`readlink ${path}`, sym().readlink(cstr(path), buf, buf.length));
  return buf.subarray(0, n).toString("utf8");
}

/** The file type bits (S_IFMT) of a path (through symlinks) or of an open fd, by statx(2). */
function fileType(target: string | number): number {
  const buf = Buffer.alloc(256); // struct statx; stx_mode is the u16 at offset 28 on every arch
  const [dirfd, path, flags] = typeof target === "number" ? [target, "", AT_EMPTY_PATH] : [AT_FDCWD, target, 0];
  check(`statx ${typeof target === "number" ? `fd ${target}` : target}`, sym().statx(dirfd, cstr(path), flags, STATX_TYPE, buf));
  return buf.readUInt16LE(28) & S_IFMT;
}

export const isDirectory = (target: string | number) => fileType(target) === S_IFDIR;
export const isRegularFile = (target: string | number) => fileType(target) === S_IFREG;

/** The directory part of a path, as path.dirname gives it. */
export function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : trimmed.slice(0, slash);
}
