// libseccomp (Debian's libseccomp2) through bun:ffi: build a seccomp filter and export it as a
// classic BPF program. Only its non-variadic calls are declared (seccomp_rule_add_array, not
// seccomp_rule_add), and nothing here loads a filter: the caller loads the exported program with
// a raw seccomp(2) (ffi/seccomp.ts), so libseccomp never sets no_new_privs behind our back.
// The library is opened on first use only: a start that finds its program cached never maps it.
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { closeSync, fstatSync, readSync } from "node:fs";
import { SyscallError } from "./errno";
import { check, cstr, libc } from "./libc";

export const LIBSECCOMP = "libseccomp.so.2";

const SYMBOLS = {
  seccomp_init: { args: [FFIType.u32], returns: FFIType.ptr },
  seccomp_release: { args: [FFIType.ptr], returns: FFIType.void },
  seccomp_attr_set: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  seccomp_arch_add: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  seccomp_arch_resolve_name: { args: [FFIType.ptr], returns: FFIType.u32 },
  seccomp_syscall_resolve_name: { args: [FFIType.ptr], returns: FFIType.i32 },
  seccomp_rule_add_array: {
    args: [FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.u32, FFIType.ptr],
    returns: FFIType.i32,
  },
  seccomp_export_bpf: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

const libcSym = libc({
  memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
});

let lib: Lib | undefined;

/**
 * dlopens libseccomp (`name` is for tests only). A missing library is an error that says what to
 * install: a container must never start unconfined because the compiler was absent.
 */
export function openLibseccomp(name = LIBSECCOMP): Lib {
  if (name === LIBSECCOMP && lib) return lib;
  let opened: Lib;
  try {
    opened = dlopen(name, SYMBOLS).symbols;
  } catch {
    throw new Error(`seccomp: ${LIBSECCOMP} not found: install the Debian package libseccomp2`);
  }
  if (name === LIBSECCOMP) lib = opened;
  return opened;
}

// Actions (seccomp.h): the low 16 bits of ERRNO and TRACE carry the errno / tracer message.
export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const scmpActErrno = (errno: number) => (0x00050000 | (errno & 0xffff)) >>> 0;
export const scmpActTrace = (msg: number) => (0x7ff00000 | (msg & 0xffff)) >>> 0;

// enum scmp_compare
export const SCMP_CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

// enum scmp_filter_attr
export const SCMP_FLTATR_CTL_NNP = 3;
export const SCMP_FLTATR_CTL_OPTIMIZE = 8;

/** __NR_SCMP_ERROR: the name is unknown to libseccomp on every architecture. */
const NR_SCMP_ERROR = -1;
const EEXIST = 17;
const MFD_CLOEXEC = 1;

/** One comparison of a rule: struct scmp_arg_cmp { u32 arg; u32 op; u64 datum_a; u64 datum_b; }. */
export interface ArgCmp {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

/** A libseccomp filter context; `release()` it in a finally. */
export class SeccompFilter {
  private readonly lib: Lib;
  private ctx: Pointer | null;

  constructor(defaultAction: number) {
    this.lib = openLibseccomp();
    this.ctx = this.lib.seccomp_init(defaultAction >>> 0) as Pointer | null;
    if (!this.ctx) throw new Error(`seccomp_init: invalid default action 0x${defaultAction.toString(16)}`);
  }

  setAttr(attr: number, value: number): void {
    this.rc("seccomp_attr_set", this.lib.seccomp_attr_set(this.ctx, attr, value >>> 0));
  }

  /** Adds an architecture by libseccomp's name ("x86_64", "x86", "x32", "aarch64", ...). */
  addArch(name: string): void {
    const token = this.lib.seccomp_arch_resolve_name(cstr(name));
    if (token === 0) throw new Error(`seccomp: unknown architecture ${name}`);
    const rc = this.lib.seccomp_arch_add(this.ctx, token);
    if (rc !== -EEXIST) this.rc(`seccomp_arch_add ${name}`, rc);
  }

  /**
   * The native syscall number of `name`, or undefined when libseccomp knows it on no
   * architecture. Names that exist only on a sub-architecture (chown32 on x86) come back as
   * negative pseudo-numbers, which seccomp_rule_add_array translates per architecture.
   */
  resolveSyscall(name: string): number | undefined {
    const nr = this.lib.seccomp_syscall_resolve_name(cstr(name));
    return nr === NR_SCMP_ERROR ? undefined : nr;
  }

  /** seccomp_rule_add_array(3): the comparisons are ANDed. */
  addRule(action: number, syscall: number, cmps: ArgCmp[], label: string): void {
    let array: Buffer | null = null;
    if (cmps.length > 0) {
      array = Buffer.alloc(24 * cmps.length);
      cmps.forEach((c, i) => {
        array!.writeUInt32LE(c.arg, i * 24);
        array!.writeUInt32LE(c.op, i * 24 + 4);
        array!.writeBigUInt64LE(c.a, i * 24 + 8);
        array!.writeBigUInt64LE(c.b, i * 24 + 16);
      });
    }
    this.rc(`seccomp_rule_add ${label}`, this.lib.seccomp_rule_add_array(this.ctx, action >>> 0, syscall, cmps.length, array));
  }

  /** The filter as an array of struct sock_filter, through a memfd (seccomp_export_bpf(3)). */
  exportBpf(): Buffer {
    const fd = check("memfd_create", libcSym().memfd_create(cstr("mydocker-seccomp"), MFD_CLOEXEC));
    try {
      this.rc("seccomp_export_bpf", this.lib.seccomp_export_bpf(this.ctx, fd));
      const size = fstatSync(fd).size;
      const bpf = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, bpf, done, size - done, done);
        if (n === 0) break;
        done += n;
      }
      return bpf.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  }

  release(): void {
    if (this.ctx) this.lib.seccomp_release(this.ctx);
    this.ctx = null;
  }

  /** libseccomp returns 0 or a negative errno. */
  private rc(call: string, rc: number): void {
    if (rc < 0) throw new SyscallError(call, -rc);
  }
}
