// Pseudo-terminals (pty(7), ioctl_tty(2)) and the fd juggling a process does to make one its
// controlling terminal. Request numbers are those of <asm-generic/ioctls.h>, used by x86_64 and
// arm64 alike (checked against /usr/include on Debian 12).
import { readlink } from "./file";
import { FFIType, check, cstr, lastErrno, libc, ptr } from "./libc";

const sym = libc({
  open: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  // The third argument is either an integer or a pointer: pass pointers as `ptr(buffer)`.
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  setsid: { args: [], returns: FFIType.i32 },
  dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  isatty: { args: [FFIType.i32], returns: FFIType.i32 },
  tcgetattr: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  tcsetattr: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  cfmakeraw: { args: [FFIType.ptr], returns: FFIType.void },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});

// <fcntl.h>
export const O_RDWR = 0o2;
export const O_NOCTTY = 0o400; // opening a tty does not make it our controlling terminal (open(2))
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
const F_GETFL = 3;
const F_SETFL = 4;

// <asm-generic/ioctls.h>
export const TIOCSCTTY = 0x540e;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCGPTN = 0x80045430; // _IOR('T', 0x30, unsigned int)
export const TIOCSPTLCK = 0x40045431; // _IOW('T', 0x31, int)
export const TIOCGPTPEER = 0x5441; // _IO('T', 0x41), Linux 4.13+; arg = open flags of the slave

const EINTR = 4;
const ENOTTY = 25;
const EINVAL = 22;

function ioctl(fd: number, name: string, request: number, arg: number | Buffer): number {
  return check(`ioctl ${name}`, sym().ioctl(fd, request, typeof arg === "number" ? arg : ptr(arg)));
}

/**
 * Opens a new pty master on `ptmxPath` (O_RDWR|O_NOCTTY|O_CLOEXEC) and unlocks its slave
 * (TIOCSPTLCK 0, what unlockpt(3) does). Inside a container give the ptmx of its own devpts
 * instance (mounted with newinstance), so that the slave lives in the container's /dev/pts.
 */
export function openPtyMaster(ptmxPath = "/dev/pts/ptmx"): number {
  const fd = check(`open ${ptmxPath}`, sym().open(cstr(ptmxPath), O_RDWR | O_NOCTTY | O_CLOEXEC, 0));
  try {
    const unlock = Buffer.alloc(4); // int 0
    ioctl(fd, "TIOCSPTLCK", TIOCSPTLCK, unlock);
  } catch (e) {
    sym().close(fd);
    throw e;
  }
  return fd;
}

/** The slave's number N, i.e. /dev/pts/N of the master's devpts instance (TIOCGPTN). */
export function ptyNumber(master: number): number {
  const n = Buffer.alloc(4);
  ioctl(master, "TIOCGPTN", TIOCGPTN, n);
  return n.readUInt32LE(0);
}

/**
 * Path of the master's slave: the directory holding the ptmx it was opened from (`/dev/pts` for
 * both `/dev/pts/ptmx` and a host's `/dev/ptmx` device node) plus its number.
 */
export function ptySlavePath(master: number): string {
  const link = readlink(`/proc/self/fd/${master}`);
  const dir = link.endsWith("/pts/ptmx") ? link.slice(0, -"/ptmx".length) : "/dev/pts";
  return `${dir}/${ptyNumber(master)}`;
}

/**
 * Opens the slave of `master` with O_RDWR|O_NOCTTY|O_CLOEXEC. TIOCGPTPEER opens it through the
 * master itself, immune to path lookups in the current mount namespace; kernels without it
 * (ENOTTY/EINVAL) get the slave by path instead.
 */
export function openPtyPeer(master: number): number {
  const flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
  const rc = sym().ioctl(master, TIOCGPTPEER, flags);
  if (rc !== -1) return rc;
  const errno = lastErrno();
  if (errno !== ENOTTY && errno !== EINVAL) check("ioctl TIOCGPTPEER", rc);
  const path = ptySlavePath(master);
  return check(`open ${path}`, sym().open(cstr(path), flags, 0));
}

export interface WindowSize {
  rows: number;
  cols: number;
}

// struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; } (ioctl_tty(2))
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  ioctl(fd, "TIOCSWINSZ", TIOCSWINSZ, ws);
}

export function getWindowSize(fd: number): WindowSize {
  const ws = Buffer.alloc(8);
  ioctl(fd, "TIOCGWINSZ", TIOCGWINSZ, ws);
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

/** setsid(2): a new session and process group led by the caller. EPERM for a group leader. */
export function setsid(): number {
  return check("setsid", sym().setsid());
}

/**
 * Makes the tty on `fd` the controlling terminal of the caller, a session leader without one
 * (TIOCSCTTY with arg 0: never steal it from another session).
 */
export function setControllingTerminal(fd: number): void {
  ioctl(fd, "TIOCSCTTY", TIOCSCTTY, 0);
}

/** dup2(2); the new fd does not have FD_CLOEXEC. */
export function dup2(oldFd: number, newFd: number): number {
  return check(`dup2 ${oldFd} ${newFd}`, sym().dup2(oldFd, newFd));
}

/** close(2). Not retried on EINTR: on Linux the fd is gone anyway (close(2), "Dealing with error returns"). */
export function close(fd: number): void {
  const rc = sym().close(fd);
  if (rc === -1 && lastErrno() !== EINTR) check(`close ${fd}`, rc);
}

/**
 * Sets or clears O_NONBLOCK. It belongs to the open file description, so every dup of `fd`, in
 * this process or another, sees the change.
 */
export function setNonBlocking(fd: number, on = true): void {
  const flags = check("fcntl F_GETFL", sym().fcntl(fd, F_GETFL, 0));
  check("fcntl F_SETFL", sym().fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
}

export function isatty(fd: number): boolean {
  return sym().isatty(fd) === 1;
}

// termios(3). glibc's struct termios on x86_64 and arm64: tcflag_t (u32) c_iflag, c_oflag,
// c_cflag, c_lflag; cc_t c_line; cc_t c_cc[32]; then speeds: 60 bytes.
const TERMIOS_SIZE = 64;
const C_LFLAG = 12;
const C_CC = 17;
const ICANON = 0o2;
const VEOF = 4;
const TCSANOW = 0;

/** The terminal attributes of `fd` (tcgetattr), to give back to `setTermios` later. */
export function getTermios(fd: number): Buffer {
  const t = Buffer.alloc(TERMIOS_SIZE);
  check("tcgetattr", sym().tcgetattr(fd, t));
  return t;
}

export function setTermios(fd: number, termios: Buffer): void {
  check("tcsetattr", sym().tcsetattr(fd, TCSANOW, termios));
}

/**
 * The byte that makes a read on the tty return end of file (c_cc[VEOF], usually ^D), or undefined
 * when the tty is not in canonical mode and no byte does. On a pty master this reads the slave's
 * settings (the kernel answers TCGETS on a master for its slave).
 */
export function eofChar(fd: number): number | undefined {
  const t = getTermios(fd);
  return t.readUInt32LE(C_LFLAG) & ICANON ? t[C_CC + VEOF] : undefined;
}

/**
 * Puts the tty on `fd` in raw mode (cfmakeraw(3): no echo, no line editing, no signal keys, no
 * output processing) and returns its previous attributes for `setTermios`.
 */
export function makeRaw(fd: number): Buffer {
  const saved = getTermios(fd);
  const raw = Buffer.from(saved);
  sym().cfmakeraw(raw);
  setTermios(fd, raw);
  return saved;
}
