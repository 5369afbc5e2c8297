// File-system calls node:fs lacks: mknod with full device numbers, and extended attributes that
// never follow symlinks (l*xattr) or act on an open fd (fsetxattr).
import { FFIType, check, cstr, lastErrno, libc } from "./libc";
import { SyscallError } from "./errno";

const sym = libc({
  mknod: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
  lsetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  fsetxattr: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  llistxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
});

// <sys/stat.h> file types
export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** glibc's makedev(3): 12+20 bits of major, 8+24 bits of minor. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** major(3) and minor(3) of a `stat.rdev`. */
export function splitDev(rdev: number | bigint): { major: number; minor: number } {
  const d = BigInt(rdev);
  return {
    major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)),
    minor: Number((d & 0xffn) | ((d >> 12n) & ~0xffn)),
  };
}

/** mknod(2): `mode` includes the type (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check(`mknod ${path}`, sym().mknod(cstr(path), mode, makedev(major, minor)));
}

/** lsetxattr(2): sets `name` on the path itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = Buffer.from(value);
  check(`lsetxattr ${path} ${name}`, sym().lsetxattr(cstr(path), cstr(name), v.length ? v : null, v.length, 0));
}

export function fsetxattr(fd: number, name: string, value: Uint8Array, what = `fd ${fd}`): void {
  const v = Buffer.from(value);
  check(`fsetxattr ${what} ${name}`, sym().fsetxattr(fd, cstr(name), v.length ? v : null, v.length, 0));
}

const ERANGE = 34;

/** llistxattr(2): the names of the path's extended attributes (a symlink's own). */
export function llistxattr(path: string): string[] {
  const p = cstr(path);
  for (;;) {
    const size = Number(check(`llistxattr ${path}`, sym().llistxattr(p, null, 0)));
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const n = Number(sym().llistxattr(p, buf, size));
    if (n === -1 && lastErrno() === ERANGE) continue; // grew in between
    check(`llistxattr ${path}`, n);
    return buf.subarray(0, n).toString("latin1").split("\0").filter(Boolean).map((s) => Buffer.from(s, "latin1").toString());
  }
}

/** lgetxattr(2): the value, or undefined when the attribute is not set. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const p = cstr(path);
  const n = cstr(name);
  for (;;) {
    const size = Number(sym().lgetxattr(p, n, null, 0));
    if (size === -1) {
      const errno = lastErrno();
      if (errno === 61 /* ENODATA */) return undefined;
      throw new SyscallError(`lgetxattr ${path} ${name}`, errno);
    }
    const buf = Buffer.alloc(size);
    const got = Number(sym().lgetxattr(p, n, size ? buf : null, size));
    if (got === -1 && lastErrno() === ERANGE) continue;
    check(`lgetxattr ${path} ${name}`, got);
    return buf.subarray(0, got);
  }
}
