// Passing an open fd to another process over an AF_UNIX socket (SCM_RIGHTS, unix(7)), with
// sendmsg(2)/recvmsg(2) and a msghdr/cmsghdr built by hand.
import { SyscallError } from "./errno";
import { FFIType, check, lastErrno, libc, ptr } from "./libc";

const sym = libc({
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  sendmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64_fast },
  recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
});

// The layouts below are those of LP64 Linux (x86_64 and arm64 agree; checked with offsetof on
// x86_64). Refuse anything else rather than corrupt memory.
if (process.arch !== "x64" && process.arch !== "arm64") {
  throw new Error(`ffi/socket: struct msghdr layout unknown on ${process.arch}`);
}

// <sys/socket.h>
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8; // msg_flags: the control buffer was too small, the kernel closed the extra fds
const MSG_NOSIGNAL = 0x4000; // EPIPE instead of SIGPIPE when the peer is gone
const MSG_DONTWAIT = 0x40; // this call only: EAGAIN instead of waiting
const MSG_CMSG_CLOEXEC = 0x40000000; // received fds get FD_CLOEXEC atomically (recvmsg(2))
const EINTR = 4;
const EAGAIN = 11;
// <poll.h>
const POLLIN = 0x1;
const POLLOUT = 0x4;

// struct iovec { void *iov_base; size_t iov_len; }
const IOVEC_SIZE = 16;
// struct msghdr { void *msg_name; socklen_t msg_namelen; struct iovec *msg_iov; size_t msg_iovlen;
//                 void *msg_control; size_t msg_controllen; int msg_flags; }
const MSGHDR_SIZE = 56;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
// struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by the data,
// everything aligned to sizeof(size_t).
const CMSGHDR_SIZE = 16;
const CMSG_ALIGN = (n: number) => (n + 7) & ~7;
const CMSG_LEN = (n: number) => CMSGHDR_SIZE + n;
const CMSG_SPACE = (n: number) => CMSGHDR_SIZE + CMSG_ALIGN(n);
/** Room for this many fds per message: more than one is refused, but must fit to be closed. */
const MAX_FDS = 16;

function close(fd: number): void {
  sym().close(fd);
}

/**
 * Waits until `fd` is ready for `events`, for sockets that are O_NONBLOCK (Bun.spawn makes the
 * parent's end of a stdio "pipe" socket so). Blocks the calling thread, like a blocking call.
 */
function waitFor(fd: number, events: number): void {
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  for (;;) {
    const rc = sym().poll(pfd, 1, -1);
    if (rc === -1 && lastErrno() === EINTR) continue;
    check("poll", rc);
    return; // ready, or POLLHUP/POLLERR: the next call reports it
  }
}

/**
 * A stream socket connected to the AF_UNIX socket at `path` (unix(7): struct sockaddr_un is a
 * u16 family and 108 bytes of NUL-terminated path). An OCI `--console-socket`.
 */
export function connectUnix(path: string): number {
  const name = Buffer.from(path);
  if (name.length >= 108) throw new Error(`connect ${path}: path too long for a unix socket`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  const fd = check("socket", sym().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sym().connect(fd, addr, 2 + name.length + 1) === -1) {
    const errno = lastErrno();
    close(fd);
    throw new SyscallError(`connect ${path}`, errno);
  }
  return fd;
}

/** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC): two connected ends. */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  check("socketpair", sym().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  return [fds[0]!, fds[1]!];
}

/**
 * A msghdr with one iovec over `data` and an optional control buffer. `keep` must stay
 * referenced until the call returns: the msghdr holds raw pointers into it.
 */
function msghdr(data: Buffer, control: Buffer | null): { hdr: Buffer; keep: Buffer[] } {
  const iov = Buffer.alloc(IOVEC_SIZE);
  iov.writeBigUInt64LE(BigInt(ptr(data)), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const hdr = Buffer.alloc(MSGHDR_SIZE);
  hdr.writeBigUInt64LE(BigInt(ptr(iov)), MSG_IOV);
  hdr.writeBigUInt64LE(1n, MSG_IOVLEN);
  if (control) {
    hdr.writeBigUInt64LE(BigInt(ptr(control)), MSG_CONTROL);
    hdr.writeBigUInt64LE(BigInt(control.length), MSG_CONTROLLEN);
  }
  return { hdr, keep: control ? [data, iov, control] : [data, iov] };
}

/**
 * Sends `payload` with `fd` attached (SCM_RIGHTS); the receiver gets its own fd for the same
 * open file. The payload must not be empty: a stream socket carries no fd without a data byte.
 * Blocks until the whole payload is queued; EPIPE (no SIGPIPE) when the peer is closed.
 */
export function sendFd(sock: number, fd: number, payload: Buffer): void {
  if (payload.length === 0) throw new Error("sendFd: the payload must hold at least one byte");
  const control = Buffer.alloc(CMSG_SPACE(4));
  control.writeBigUInt64LE(BigInt(CMSG_LEN(4)), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, CMSGHDR_SIZE);
  let sent = 0;
  while (sent < payload.length) {
    // The fd travels with the first chunk; after a partial send the rest goes without it.
    const { hdr, keep } = msghdr(payload.subarray(sent), sent === 0 ? control : null);
    const n = Number(sym().sendmsg(sock, hdr, MSG_NOSIGNAL));
    keep.length; // alive until here
    if (n === -1) {
      const errno = lastErrno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) {
        waitFor(sock, POLLOUT);
        continue;
      }
    }
    sent += check("sendmsg", n);
  }
}

export interface Message {
  /** What was read: empty at end of file (the peer closed its end). */
  data: Buffer;
  /** An fd that came with the data, already FD_CLOEXEC; the caller owns (and closes) it. */
  fd?: number;
}

/**
 * Blocks until data (and possibly one fd) arrive on `sock`, even if it is O_NONBLOCK; reads up to
 * `maxBytes`. Received fds are FD_CLOEXEC (MSG_CMSG_CLOEXEC). A message carrying more than one fd
 * is refused: all of them are closed and it throws. On a stream socket, message boundaries are
 * not kept, except that a read never goes past data that carried fds.
 */
export function recvMessage(sock: number, maxBytes = 65536): Message {
  for (;;) {
    const msg = tryRecvMessage(sock, maxBytes);
    if (msg) return msg;
    waitFor(sock, POLLIN);
  }
}

/** recvMessage without waiting: undefined when nothing is queued yet (EAGAIN). */
export function tryRecvMessage(sock: number, maxBytes = 65536): Message | undefined {
  const data = Buffer.alloc(maxBytes);
  const control = Buffer.alloc(CMSG_SPACE(4 * MAX_FDS));
  const { hdr, keep } = msghdr(data, control);
  let n: number;
  for (;;) {
    n = Number(sym().recvmsg(sock, hdr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
    if (n !== -1) break;
    const errno = lastErrno();
    if (errno === EAGAIN) return undefined;
    if (errno !== EINTR) check("recvmsg", n);
  }
  keep.length; // alive until here
  const fds: number[] = [];
  const controlLen = Number(hdr.readBigUInt64LE(MSG_CONTROLLEN));
  for (let off = 0; off + CMSGHDR_SIZE <= controlLen; ) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < CMSGHDR_SIZE) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + CMSGHDR_SIZE; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += CMSG_ALIGN(len);
  }
  const truncated = (hdr.readInt32LE(MSG_FLAGS) & MSG_CTRUNC) !== 0;
  if (fds.length > 1 || truncated) {
    fds.forEach(close);
    throw new Error(`recvmsg: expected at most one fd, got ${fds.length}${truncated ? " and more (MSG_CTRUNC)" : ""}`);
  }
  const msg: Message = { data: data.subarray(0, n) };
  if (fds.length === 1) msg.fd = fds[0];
  return msg;
}
