// flock(2): advisory whole-file locks, released by the kernel when the fd closes (even when the
// holder is killed), so a crashed mydocker never leaves a stale lock.
import { FFIType, check, lastErrno, libc } from "./libc";
import { SyscallError } from "./errno";

/** flock(2): EWOULDBLOCK (= EAGAIN on Linux), the lock is held elsewhere */
const EWOULDBLOCK = 11;

const sym = libc({ flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_UN = 8;

/** Blocks until the lock is granted. */
export function flock(fd: number, op: number): void {
  check("flock", sym().flock(fd, op));
}

/** flock(2) LOCK_NB: fail at once, EWOULDBLOCK, instead of waiting for another holder. */
export const LOCK_NB = 4;

/** Takes the lock if nobody holds it: true when taken, false when another file description holds it. */
export function tryFlock(fd: number, op: number): boolean {
  if (sym().flock(fd, op | LOCK_NB) === 0) return true;
  const errno = lastErrno();
  if (errno === EWOULDBLOCK) return false;
  throw new SyscallError("flock", errno);
}
