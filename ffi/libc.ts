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
 * Returns a getter that dlopens libc with `symbols` on its first call. __errno_location is loaded
 * at the same time, so that reading errno after a failure runs no dlopen that could change it.
 */
export function libc<const S extends Symbols>(symbols: S): () => ReturnType<typeof dlopen<S>>["symbols"] {
  let lib: ReturnType<typeof dlopen<S>> | undefined;
  return () => {
    errnoLocation ??= dlopen("libc.so.6", errnoLib).symbols.__errno_location;
    return (lib ??= dlopen("libc.so.6", symbols)).symbols;
  };
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

/** A NUL-terminated C string; keep the Buffer referenced until the call returns. */
export function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}
