// The calls that end a container start: resource limits, user and groups, capabilities,
// no_new_privs, dumpability. Capabilities and ids belong to a thread (capabilities(7),
// credentials(7)); these are raw system calls on the calling (JS) thread, which is the one that
// execve(2)s — glibc's setresuid() would signal every thread of the process to change too.
import { FFIType, check, libc } from "./libc";

const sym = libc({
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  prlimit: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
});
// syscall(2) again, with pointer arguments (capset, setgroups): one signature per dlopen.
const withPointers = libc({
  syscall: { args: [FFIType.i64, FFIType.ptr, FFIType.ptr], returns: FFIType.i64 },
});
const withCountAndPointer = libc({
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr], returns: FFIType.i64 },
});

const X64 = process.arch === "x64";
// x86_64 (arch/x86/entry/syscalls/syscall_64.tbl) / the generic table of arm64.
const SYS = X64
  ? { setgroups: 116, setresuid: 117, setresgid: 119, capset: 126 }
  : { setgroups: 159, setresuid: 147, setresgid: 149, capset: 91 };

// <linux/prctl.h>
const PR_SET_DUMPABLE = 4;
const PR_SET_KEEPCAPS = 8;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

function prctl(what: string, option: number, arg2 = 0, arg3 = 0): number {
  return check(`prctl ${what}`, sym().prctl(option, arg2, arg3, 0, 0));
}

/** PR_SET_DUMPABLE 0: no core dumps, /proc/self owned by root, no ptrace by the same uid (prctl(2)). */
export function setNonDumpable(): void {
  prctl("PR_SET_DUMPABLE", PR_SET_DUMPABLE, 0);
}

/** PR_SET_KEEPCAPS: keep the permitted set across the switch from uid 0 (capabilities(7)). */
export function setKeepCaps(on: boolean): void {
  prctl("PR_SET_KEEPCAPS", PR_SET_KEEPCAPS, on ? 1 : 0);
}

/** PR_SET_NO_NEW_PRIVS: execve(2) can never grant privileges again (setuid bits, file caps). */
export function setNoNewPrivileges(): void {
  prctl("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS, 1);
}

/** Removes `cap` from the bounding set for good (needs CAP_SETPCAP). */
export function dropFromBoundingSet(cap: number): void {
  prctl(`PR_CAPBSET_DROP ${cap}`, PR_CAPBSET_DROP, cap);
}

export function clearAmbient(): void {
  prctl("PR_CAP_AMBIENT_CLEAR_ALL", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
}

/** Raises `cap` in the ambient set: it must already be permitted and inheritable. */
export function raiseAmbient(cap: number): void {
  prctl(`PR_CAP_AMBIENT_RAISE ${cap}`, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
}

/** Three capability sets as 64-bit masks (bit N = capability N). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

// capset(2): _LINUX_CAPABILITY_VERSION_3 takes two 32-bit halves per set.
const CAP_V3 = 0x20080522;

/** capset(2) on the calling thread (pid 0). */
export function setCapabilities(sets: CapSets): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(CAP_V3, 0);
  const data = Buffer.alloc(24);
  for (let half = 0; half < 2; half++) {
    const shift = BigInt(32 * half);
    const word = (m: bigint) => Number((m >> shift) & 0xffffffffn);
    data.writeUInt32LE(word(sets.effective), half * 12);
    data.writeUInt32LE(word(sets.permitted), half * 12 + 4);
    data.writeUInt32LE(word(sets.inheritable), half * 12 + 8);
  }
  check("capset", withPointers().syscall(SYS.capset, header, data));
}

/** setgroups(2) on the calling thread: the supplementary groups, replacing the host's. */
export function setGroups(gids: number[]): void {
  const list = Buffer.alloc(Math.max(4, gids.length * 4));
  gids.forEach((g, i) => list.writeUInt32LE(g >>> 0, i * 4));
  check("setgroups", withCountAndPointer().syscall(SYS.setgroups, gids.length, list));
}

/** setresgid(2): real, effective and saved gid of the calling thread. */
export function setGid(gid: number): void {
  check(`setresgid ${gid}`, sym().syscall(SYS.setresgid, gid, gid, gid));
}

/** setresuid(2): real, effective and saved uid of the calling thread. */
export function setUid(uid: number): void {
  check(`setresuid ${uid}`, sym().syscall(SYS.setresuid, uid, uid, uid));
}

// <asm-generic/resource.h>
export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** RLIM_INFINITY as the unsigned 64-bit value the kernel uses; -1 and larger numbers mean it. */
const INFINITY = 0xffffffffffffffffn;
const limitValue = (n: number) => (n < 0 || n >= Number.MAX_SAFE_INTEGER ? INFINITY : BigInt(n));

/** prlimit(2) on this process: rlimits belong to the process and survive execve. */
export function setRlimit(type: string, soft: number, hard: number): void {
  const resource = RLIMITS[type];
  if (resource === undefined) throw new Error(`setrlimit: unknown resource ${type}`);
  const value = Buffer.alloc(16);
  value.writeBigUInt64LE(limitValue(soft), 0);
  value.writeBigUInt64LE(limitValue(hard), 8);
  check(`setrlimit ${type}`, sym().prlimit(0, resource, value, null));
}
