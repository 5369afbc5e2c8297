// errno numbers of x86_64/arm64 Linux (asm-generic/errno-base.h, errno.h) mapped to their names,
// so that errors read like `pivot_root: EINVAL`.
const NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
  16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 34: "ERANGE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY",
  40: "ELOOP", 61: "ENODATA", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
  101: "ENETUNREACH", 103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 107: "ENOTCONN", 110: "ETIMEDOUT",
  111: "ECONNREFUSED",
};

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

/** A failed libc call: `message` is `<call>: <ERRNO>` plus an optional detail. */
export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${syscall}: ${errnoName(errno)}${detail ? ` (${detail})` : ""}`);
    this.name = "SyscallError";
  }
  get code(): string {
    return errnoName(this.errno);
  }
}
