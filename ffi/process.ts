// Process-level calls the container init makes before it becomes the user's command.
import { FFIType, check, cstr, libc, ptr, unrecorded } from "./libc";

const sym = libc({
  execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  sethostname: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  setdomainname: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  chdir: { args: [FFIType.ptr], returns: FFIType.i32 },
  umask: { args: [FFIType.u32], returns: FFIType.u32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.ptr, FFIType.i64], returns: FFIType.i64 },
  sigprocmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
});

/**
 * Every signal back to its default action and none blocked. execve(2) resets caught signals
 * only: one a process ignores (Bun ignores SIGPIPE, among others) stays ignored in the program
 * it becomes (signal(7), "Signal disposition ... during execve"), so a container's `yes | head`
 * would never end.
 */
export function resetSignals(): void {
  // the raw rt_sigaction(2): glibc's signal() refuses 32 and 33, which it keeps for itself, yet
  // a parent may have left them ignored (x86_64/arm64 struct kernel_sigaction: handler, flags,
  // restorer, mask; all zero is SIG_DFL)
  const dfl = Buffer.alloc(32);
  // (62 calls: --trace shows them as the caller's one step)
  unrecorded(() => {
    for (let sig = 1; sig <= 64; sig++) if (sig !== 9 && sig !== 19) sym().syscall(process.arch === "arm64" ? 134 : 13, sig, dfl, null, 8);
  });
  const empty = Buffer.alloc(128); // sigset_t
  check("sigprocmask", sym().sigprocmask(2 /* SIG_SETMASK */, empty, null));
}

export function sethostname(name: string): void {
  const buf = Buffer.from(name);
  check("sethostname", sym().sethostname(buf, buf.length));
}

export function setdomainname(name: string): void {
  const buf = Buffer.from(name);
  check("setdomainname", sym().setdomainname(buf, buf.length));
}

/** chdir(2) of the calling thread (process.chdir may cache the old path). */
export function chdir(path: string): void {
  check(`chdir ${path}`, sym().chdir(cstr(path)));
}

export function umask(mask: number): number {
  return sym().umask(mask);
}

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
/** Marks `fd` close-on-exec, so the user's command never inherits it. */
export function setCloexec(fd: number): void {
  const flags = check("fcntl F_GETFD", sym().fcntl(fd, F_GETFD, 0));
  check("fcntl F_SETFD", sym().fcntl(fd, F_SETFD, flags | FD_CLOEXEC));
}

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
/**
 * Makes reads on `fd` wait for data. Bun creates the parent's end of a spawn's extra socketpair
 * non-blocking (for its event loop); a synchronous handshake on it needs it blocking.
 */
export function setBlocking(fd: number): void {
  const flags = check("fcntl F_GETFL", sym().fcntl(fd, F_GETFL, 0));
  check("fcntl F_SETFL", sym().fcntl(fd, F_SETFL, flags & ~O_NONBLOCK));
}

/** A NULL-terminated char* array; `keep` holds the strings alive until the call returns. */
function cArray(items: string[], keep: Uint8Array[]): BigUint64Array {
  const arr = new BigUint64Array(items.length + 1);
  items.forEach((s, i) => {
    const b = cstr(s);
    keep.push(b);
    arr[i] = BigInt(ptr(b));
  });
  return arr;
}

/** execve(2). Returns only on failure, by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  const keep: Uint8Array[] = [];
  const file = cstr(path);
  sym().execve(file, cArray(argv, keep), cArray(env, keep));
  check(`exec ${path}`, -1);
  throw new Error("unreachable");
}
