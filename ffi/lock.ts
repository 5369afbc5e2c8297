// flock(2): advisory whole-file locks, released by the kernel when the fd closes (even when the
// holder is killed), so a crashed mydocker never leaves a stale lock.
import { FFIType, check, libc } from "./libc";

const sym = libc({ flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_UN = 8;

/** Blocks until the lock is granted. */
export function flock(fd: number, op: number): void {
  check("flock", sym().flock(fd, op));
}
