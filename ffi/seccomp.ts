// Loading a seccomp filter with the raw syscall: the container init imports this module, so it
// declares only syscall(2) and prctl(2) (compiling the filter is src/security/seccomp.ts's job).
import { SyscallError } from "./errno";
import { FFIType, check, libc, ptr } from "./libc";

const sym = libc({
  syscall: { args: [FFIType.i64, FFIType.u32, FFIType.u32, FFIType.ptr], returns: FFIType.i64 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
});

// seccomp(2) has no glibc wrapper before 2.39: call it by number (x86_64 317, arm64 277).
const SYS_seccomp = process.arch === "x64" ? 317 : 277;
const SECCOMP_SET_MODE_FILTER = 1;
const PR_SET_NO_NEW_PRIVS = 38;
/** BPF_MAXINSNS: the kernel refuses longer programs with EINVAL. */
const BPF_MAXINSNS = 4096;
const EINVAL = 22;

// seccomp(2) flags for SECCOMP_SET_MODE_FILTER (linux/seccomp.h).
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog) on the calling thread; children it spawns
 * and the program it execs inherit the filter. Without no_new_privs the kernel requires
 * CAP_SYS_ADMIN in the caller's user namespace (seccomp(2) EACCES). `bpf` is an array of
 * struct sock_filter (8 bytes each), as seccompProgram returns it.
 */
export function loadSeccompProgram(bpf: Buffer, flags = 0): void {
  if (bpf.length === 0 || bpf.length % 8 !== 0 || bpf.length / 8 > BPF_MAXINSNS) {
    throw new SyscallError("seccomp", EINVAL, `not a BPF program: ${bpf.length} bytes`);
  }
  // struct sock_fprog { unsigned short len; /* 6 bytes of padding */ struct sock_filter *filter; }
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(bpf.length / 8, 0);
  fprog.writeBigUInt64LE(BigInt(ptr(bpf)), 8);
  check("seccomp", sym().syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, fprog));
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1): execve can no longer grant privileges (setuid bits, file caps). */
export function setNoNewPrivs(): void {
  check("prctl PR_SET_NO_NEW_PRIVS", sym().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}
