// One door to libc. Each ffi/ module declares the few symbols it needs and gets them from
// `libc(...)`, which dlopens libc.so.6 on first use. bun:ffi compiles a trampoline per symbol, so
// a process only pays for the modules it imports (the container init imports few).
import { dlopen, FFIType, ptr, read, type FFIFunction, type Pointer } from "bun:ffi";
import { SyscallError } from "./errno";

export { FFIType, ptr };
export type Symbols = Record<string, FFIFunction>;

const errnoLib = { __errno_location: { args: [], returns: FFIType.ptr } } as const;

let errnoLocation: (() => unknown) | undefined;

/**
 * `--trace`: when set, every libc call made through `libc()` is reported here with its arguments
 * (C strings as text), its return value, errno on failure, and its start and end times. Unset, the
 * symbols are handed out as they are: tracing costs nothing when off.
 */
export type CallRecorder = (name: string, args: unknown[], rc: unknown, errno: number | undefined, start: number, end: number) => void;
let recorder: CallRecorder | undefined;
export function recordCalls(r: CallRecorder | undefined): void {
  recorder = r;
}

/** Runs `fn` with its libc calls left out of the trace (a loop the caller reports as one step). */
export function unrecorded<T>(fn: () => T): T {
  const saved = recorder;
  recorder = undefined;
  try {
    return fn();
  } finally {
    recorder = saved;
  }
}

/**
 * Returns a getter that dlopens libc with `symbols` on its first call. __errno_location is loaded
 * at the same time, so that reading errno after a failure runs no dlopen that could change it.
 */
export function libc<const S extends Symbols>(symbols: S): () => ReturnType<typeof dlopen<S>>["symbols"] {
  type Syms = ReturnType<typeof dlopen<S>>["symbols"];
  let lib: ReturnType<typeof dlopen<S>> | undefined;
  let traced: Syms | undefined;
  return () => {
    errnoLocation ??= dlopen("libc.so.6", errnoLib).symbols.__errno_location;
    const syms = (lib ??= dlopen("libc.so.6", symbols)).symbols;
    if (!recorder) return syms;
    return (traced ??= tracedSymbols(syms));
  };
}

function tracedSymbols<T extends Record<string, unknown>>(syms: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(syms)) {
    out[name] = (...args: unknown[]) => {
      const start = performance.timeOrigin + performance.now();
      const rc = (fn as (...a: unknown[]) => unknown)(...args);
      const errno = rc === -1 || rc === -1n ? lastErrno() : undefined;
      recorder?.(name, args, rc, errno, start, performance.timeOrigin + performance.now());
      return rc;
    };
  }
  return out as T;
}

/** errno of the calling thread; read it right after a call returned -1 (it is stale after success). */
export function lastErrno(): number {
  return read.i32(errnoLocation!() as Pointer, 0);
}

/** Throws `SyscallError(name, errno)` when a libc call returned -1. */
export function check(name: string, rc: number | bigint, detail?: string): number {
  if (rc === -1 || rc === -1n) throw new SyscallError(name, lastErrno(), detail);
  return Number(rc);
}

const utf8 = new TextEncoder();

/**
 * A NUL-terminated C string; keep it referenced until the call returns. (TextEncoder, not
 * Buffer.from: several times faster in a process that just started, and every syscall with a
 * path makes one.)
 */
export function cstr(s: string): Uint8Array {
  return utf8.encode(s + "\0");
}
