// poll(2) on one descriptor: for a caller that waits on a pipe or FIFO it opened O_NONBLOCK and
// would otherwise sleep and retry (the OCI `start` waiting on exec.fifo).
import { FFIType, check, lastErrno, libc } from "./libc";

const sym = libc({
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
});

// <poll.h>
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
const EINTR = 4;

/**
 * Waits at most `timeoutMs` for `fd` to have data, or to be hung up; returns the revents (0 when
 * the time ran out or a signal came). A FIFO's reader sees POLLHUP only once a writer has opened
 * and closed it since the reader's open (pipe(7); fs/pipe.c pipe_poll), not while none ever came.
 */
export function pollIn(fd: number, timeoutMs: number): number {
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  const rc = sym().poll(pfd, 1, timeoutMs);
  if (rc === -1 && lastErrno() === EINTR) return 0;
  check("poll", rc);
  return rc === 0 ? 0 : pfd.readInt16LE(6);
}
