// posix_fadvise(2) for the benches: a file's pages dropped from the page cache, so that a
// process that maps it afterwards finds them as after a reboot, not as just written.
import { SyscallError } from "./errno";
import { FFIType, libc } from "./libc";
import { closeSync, fdatasyncSync, openSync } from "node:fs";

const sym = libc({
  posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 },
});

const POSIX_FADV_DONTNEED = 4;

/**
 * Drops `path`'s pages from the page cache (pages another process maps stay). DONTNEED drops
 * clean pages only, so those of a file just written are written back first (fdatasync). Unlike
 * the other calls, posix_fadvise returns the error number instead of setting errno (man 2 posix_fadvise).
 */
export function dropPageCache(path: string): void {
  const fd = openSync(path, "r");
  try {
    fdatasyncSync(fd);
    const err = sym().posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (err !== 0) throw new SyscallError("posix_fadvise", err, path);
  } finally {
    closeSync(fd);
  }
}
