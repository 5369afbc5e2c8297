// OCI linux.seccomp -> a classic BPF program (an array of struct sock_filter), compiled by
// libseccomp and cached by the config's hash, as crun does: a start whose program is cached reads
// one small file and never loads libseccomp. The container init loads the program with
// ffi/seccomp.ts; nothing here touches the calling process's own filter.
//
// Rules follow runc's reading of the spec (libcontainer/seccomp): one libseccomp rule per name of
// an entry, its args ANDed; when one entry compares the same argument twice, each comparison
// becomes a rule of its own (ORed). Names libseccomp does not know are skipped (they may not
// exist on this kernel or architecture); an entry whose action equals the default is redundant
// and skipped (libseccomp would refuse it).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_TRAP, SCMP_CMP,
  SCMP_FLTATR_CTL_NNP, SCMP_FLTATR_CTL_OPTIMIZE, SeccompFilter, scmpActErrno, scmpActTrace, type ArgCmp,
} from "../../ffi/libseccomp";
import type { LinuxSeccomp } from "../spec";

const EPERM = 1;
const MAX_ERRNO = 4095;
const BPF_MAXINSNS = 4096;
/** Bump when the compiler's output for the same config changes (the cache key includes it). */
const CACHE_FORMAT = 1;
/** runc's threshold: past 32 syscall names, libseccomp's binary tree beats its linear list. */
const BINARY_TREE_RULES = 32;

/**
 * The BPF program for `seccomp`, from `${cacheDir}/<sha256>.bpf` when cached, else compiled with
 * libseccomp and written there atomically (dir 0700, file 0600).
 */
export function seccompProgram(seccomp: LinuxSeccomp, cacheDir: string): Buffer {
  const file = join(cacheDir, `${seccompCacheKey(seccomp)}.bpf`);
  const cached = readCached(file);
  if (cached) return cached;
  const bpf = compileSeccomp(seccomp);
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bpf, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return bpf;
}

/** sha256 (hex) of the cache format, the architecture and the config in canonical JSON. */
export function seccompCacheKey(seccomp: LinuxSeccomp): string {
  // Bun's native hasher: node:crypto alone costs a start about half a millisecond to load
  return new Bun.CryptoHasher("sha256").update(`${CACHE_FORMAT} ${process.arch} ${canonicalJson(seccomp)}`).digest("hex");
}

/** The seccomp(2) flags that linux.seccomp.flags asks for (they are load-time, not in the BPF). */
export function seccompLoadFlags(seccomp: LinuxSeccomp): number {
  const bits: Record<string, number> = {
    SECCOMP_FILTER_FLAG_TSYNC: 1,
    SECCOMP_FILTER_FLAG_LOG: 2,
    SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  };
  let flags = 0;
  for (const f of seccomp.flags ?? []) {
    const bit = bits[f];
    if (bit === undefined) throw new Error(`seccomp: unknown flag "${f}"`);
    flags |= bit;
  }
  return flags;
}

/** Compiles `seccomp` with libseccomp, without the cache. */
export function compileSeccomp(seccomp: LinuxSeccomp): Buffer {
  // Everything that can be wrong with the config is found before libseccomp is even opened.
  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, "defaultAction");
  const rules = (seccomp.syscalls ?? []).map((r, i) => {
    const at = `syscalls[${i}]`;
    if (!Array.isArray(r.names)) throw new Error(`seccomp: ${at}: "names" must be a list`);
    return { names: r.names, action: actionValue(r.action, r.errnoRet, at), cmps: (r.args ?? []).map((a, j) => argCmp(a, `${at}.args[${j}]`)) };
  });

  const filter = new SeccompFilter(defaultAction);
  try {
    // We only export: the caller decides about no_new_privs (docker leaves it off).
    filter.setAttr(SCMP_FLTATR_CTL_NNP, 0);
    if (rules.reduce((n, r) => n + r.names.length, 0) > BINARY_TREE_RULES) filter.setAttr(SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (const arch of seccomp.architectures ?? []) filter.addArch(libseccompArchName(arch));
    for (const rule of rules) {
      if (rule.action === defaultAction) continue;
      const groups = repeatsAnArg(rule.cmps) ? rule.cmps.map((c) => [c]) : [rule.cmps];
      for (const name of rule.names) {
        const nr = filter.resolveSyscall(name);
        if (nr === undefined) continue;
        for (const cmps of groups) filter.addRule(rule.action, nr, cmps, name);
      }
    }
    const bpf = filter.exportBpf();
    if (bpf.length === 0 || bpf.length / 8 > BPF_MAXINSNS) {
      throw new Error(`seccomp: the compiled program has ${bpf.length / 8} instructions (the kernel takes 1 to ${BPF_MAXINSNS})`);
    }
    return bpf;
  } finally {
    filter.release();
  }
}

/** A cached program, or undefined when missing or not a plausible program (then recompiled). */
function readCached(file: string): Buffer | undefined {
  let bpf: Buffer;
  try {
    bpf = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return bpf.length > 0 && bpf.length % 8 === 0 && bpf.length / 8 <= BPF_MAXINSNS ? bpf : undefined;
}

function actionValue(action: string, errnoRet: number | undefined, at: string): number {
  switch (action) {
    case "SCMP_ACT_ALLOW":
      return SCMP_ACT_ALLOW;
    case "SCMP_ACT_ERRNO":
      return scmpActErrno(errno(errnoRet, at));
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SCMP_ACT_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SCMP_ACT_KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SCMP_ACT_TRAP;
    case "SCMP_ACT_TRACE":
      return scmpActTrace(errno(errnoRet, at));
    case "SCMP_ACT_LOG":
      return SCMP_ACT_LOG;
    default:
      throw new Error(`seccomp: ${at}: unknown action ${JSON.stringify(action)}`);
  }
}

/** errnoRet, EPERM when absent (runc's default). */
function errno(v: number | undefined | null, at: string): number {
  if (v === undefined || v === null) return EPERM;
  if (!Number.isInteger(v) || v < 0 || v > MAX_ERRNO) throw new Error(`seccomp: ${at}: errnoRet ${v} is not an errno number`);
  return v;
}

function argCmp(a: { index: number; value: number; valueTwo?: number; op: string }, at: string): ArgCmp {
  const op = a.op.startsWith("SCMP_CMP_") ? SCMP_CMP[a.op.slice(9) as keyof typeof SCMP_CMP] : undefined;
  if (op === undefined) throw new Error(`seccomp: ${at}: unknown operator ${JSON.stringify(a.op)}`);
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new Error(`seccomp: ${at}: argument index ${a.index} is not 0 to 5`);
  // For SCMP_CMP_MASKED_EQ the spec's value is the mask and valueTwo the expected value, which is
  // libseccomp's datum_a / datum_b order too.
  return { arg: a.index, op, a: u64(a.value, at), b: u64(a.valueTwo ?? 0, at) };
}

function u64(v: number, at: string): bigint {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`seccomp: ${at}: ${v} is not a non-negative integer below 2^53`);
  return BigInt(v);
}

function repeatsAnArg(cmps: ArgCmp[]): boolean {
  return new Set(cmps.map((c) => c.arg)).size !== cmps.length;
}

/** "SCMP_ARCH_X86_64" -> "x86_64", the name seccomp_arch_resolve_name(3) takes. */
function libseccompArchName(arch: string): string {
  return arch.replace(/^SCMP_ARCH_/, "").toLowerCase();
}

/**
 * The config as JSON in one fixed field order, holding only what shapes the program: a canonical
 * form that a single native JSON.stringify makes (a generic key-sorting walk cost ms on a cold
 * start).
 */
export function canonicalJson(seccomp: LinuxSeccomp): string {
  return JSON.stringify({
    defaultAction: seccomp.defaultAction,
    defaultErrnoRet: seccomp.defaultErrnoRet ?? null,
    architectures: seccomp.architectures ?? [],
    syscalls: (seccomp.syscalls ?? []).map((r) => ({
      names: r.names,
      action: r.action,
      errnoRet: r.errnoRet ?? null,
      args: (r.args ?? []).map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op })),
    })),
  });
}
